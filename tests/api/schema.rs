//! The checked-in SDL matches the code. Regenerate it with
//! `cargo run -- schema > schema/schema.graphql`.

#[test]
fn the_checked_in_schema_matches_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/schema.graphql");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = timbre::api::sdl();
    assert!(
        checked_in == generated,
        "schema/schema.graphql is out of date; run `cargo run -- schema > schema/schema.graphql`"
    );
}

/// The checked-in JSON Schema of Kafka messages matches the code.
/// Regenerate it with
/// `cargo run -- schema --message > schema/track-message.schema.json`.
#[test]
fn the_checked_in_message_schema_matches_the_code() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/track-message.schema.json");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = timbre::kafka::message::json_schema_text();
    assert!(
        checked_in == generated,
        "schema/track-message.schema.json is out of date; run `cargo run -- schema --message > schema/track-message.schema.json`"
    );
}

/// The checked-in JSON Schema of interaction messages matches the code.
/// Regenerate it with `cargo run -- schema --interaction-message >
/// schema/interaction-message.schema.json`.
#[test]
fn the_checked_in_interaction_schema_matches_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schema/interaction-message.schema.json");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = timbre::kafka::interaction_message::json_schema_text();
    assert!(
        checked_in == generated,
        "schema/interaction-message.schema.json is out of date; run `cargo run -- schema --interaction-message > schema/interaction-message.schema.json`"
    );
}

/// The lake's schema catalog under `schema/lake/` matches the code, and no
/// table's checked-in version was changed in place: a change of columns
/// needs a new version (a new file), and the files of older versions stay,
/// so old Parquet files remain described. Regenerate with
/// `cargo run -- schema --lake schema/lake`.
#[test]
fn the_checked_in_lake_catalog_matches_the_code() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/lake");
    for (name, generated) in timbre::lake::catalog() {
        let checked_in = std::fs::read_to_string(dir.join(&name)).unwrap_or_default();
        assert!(
            checked_in == generated,
            "schema/lake/{name} is out of date: a new column needs a new table version; run `cargo run -- schema --lake schema/lake`"
        );
    }
    // Every table and version ever published is still described.
    let published: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for table in timbre::lake::tables::all() {
        for version in 1..=table.version {
            let file = format!("{}.v{version}.json", table.name);
            assert!(
                published.contains(&file),
                "{file} must stay in schema/lake/"
            );
        }
    }
}

/// `timbre schema --lake-ddl` gives each table with its partition column
/// and location, and the current-state view.
#[test]
fn the_lake_ddl_names_every_table_partition_and_location() {
    let ddl = timbre::lake::ddl("s3://bucket/lake", false);
    for table in timbre::lake::tables::all() {
        assert!(ddl.contains(&format!(
            "CREATE EXTERNAL TABLE IF NOT EXISTS {} (",
            table.name
        )));
        assert!(ddl.contains(&format!(
            "LOCATION 's3://bucket/lake/curated/{}/v{}/'",
            table.name, table.version
        )));
        assert!(ddl.contains(&format!("PARTITIONED BY ({} STRING)", table.partition.0)));
    }
    assert!(ddl.contains("CREATE OR REPLACE VIEW tracks_current"));
    let spark = timbre::lake::ddl("/data/lake", true);
    assert!(spark.contains("USING parquet") && spark.contains("LOCATION '/data/lake/curated/"));
}

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

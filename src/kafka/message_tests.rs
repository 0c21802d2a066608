use serde_json::json;

use super::*;

const ID: &str = "6f807x0ima9a1j3VPbc7VN";

fn upsert_value() -> serde_json::Value {
    json!({
        "op": "upsert",
        "track": {
            "id": ID,
            "name": "I Don't Care",
            "artists": ["Ed Sheeran", "Justin Bieber"],
            "album": { "id": "2oCs0DGTsRO98Gh5ZSl2Cx", "name": "I Don't Care", "release_date": "2019-06-14" },
            "popularity": 66,
            "genres": ["Pop"],
            "playlists": [{ "id": "37i9dQZF1DXcBWIGoYBM5M", "name": "Pop Remix", "genre": "pop" }],
            "features": {
                "danceability": 0.748, "energy": 0.916, "key": 6, "loudness": -2.634, "mode": 1,
                "speechiness": 0.0583, "acousticness": 0.102, "instrumentalness": 0.0,
                "liveness": 0.0653, "valence": 0.518, "tempo": 122.036, "duration_ms": 194754
            }
        }
    })
}

fn decode_value(key: Option<&str>, value: &serde_json::Value) -> Result<Change, Poison> {
    decode(key.map(str::as_bytes), Some(value.to_string().as_bytes()))
}

#[test]
fn an_upsert_becomes_a_normalised_domain_track() {
    let Change::Upsert(track) = decode_value(Some(ID), &upsert_value()).unwrap() else {
        panic!("expected an upsert");
    };
    assert_eq!(track.id.as_str(), ID);
    assert_eq!(track.genres, vec!["pop"]);
    assert_eq!(track.album.release_date.unwrap().year, 2019);
    assert_eq!(track.features.key, Some(6));
    assert!(track.features.major);
    assert_eq!(track.features.time_signature, None);
}

#[test]
fn encoding_and_decoding_give_back_the_same_track() {
    let Change::Upsert(track) = decode_value(Some(ID), &upsert_value()).unwrap() else {
        panic!("expected an upsert");
    };
    let (key, value) = encode_upsert(&track);
    assert_eq!(key, ID);
    assert_eq!(
        decode(Some(key.as_bytes()), Some(&value)).unwrap(),
        Change::Upsert(track)
    );
    let id = TrackId::parse(ID).unwrap();
    let (key, value) = encode_delete(id);
    assert_eq!(
        decode(Some(key.as_bytes()), Some(&value)).unwrap(),
        Change::Delete(id)
    );
}

#[test]
fn a_tombstone_deletes_the_track_named_by_its_key() {
    let id = TrackId::parse(ID).unwrap();
    assert_eq!(
        decode(Some(ID.as_bytes()), None).unwrap(),
        Change::Delete(id)
    );
    assert_eq!(decode(None, None).unwrap_err().kind(), "key");
}

#[test]
fn poison_messages_are_told_apart_by_reason() {
    let kind = |key: Option<&str>, value: &[u8]| {
        decode(key.map(str::as_bytes), Some(value))
            .unwrap_err()
            .kind()
    };
    assert_eq!(kind(Some(ID), b"not json"), "schema");
    assert_eq!(kind(Some(ID), br#"{"op":"rename","id":"x"}"#), "schema");

    let mut unknown_field = upsert_value();
    unknown_field["track"]["colour"] = json!("blue");
    assert_eq!(
        kind(Some(ID), unknown_field.to_string().as_bytes()),
        "schema"
    );

    let mut loud = upsert_value();
    loud["track"]["features"]["energy"] = json!(1.5);
    let err = decode_value(Some(ID), &loud).unwrap_err();
    assert_eq!(err.kind(), "feature out of range");
    assert!(err.to_string().contains("energy = 1.5"), "{err}");

    let mut missing = upsert_value();
    missing["track"]["features"]
        .as_object_mut()
        .unwrap()
        .remove("valence");
    assert_eq!(kind(Some(ID), missing.to_string().as_bytes()), "schema");

    let other = "0000000000000000000000";
    assert_eq!(
        kind(Some(other), upsert_value().to_string().as_bytes()),
        "key"
    );
    assert_eq!(kind(None, upsert_value().to_string().as_bytes()), "key");

    let mut bad_id = upsert_value();
    bad_id["track"]["id"] = json!("short");
    assert_eq!(
        kind(Some("short"), bad_id.to_string().as_bytes()),
        "invalid track id"
    );

    let mut popular = upsert_value();
    popular["track"]["popularity"] = json!(101);
    assert_eq!(
        kind(Some(ID), popular.to_string().as_bytes()),
        "invalid value"
    );
}

#[test]
fn texts_and_lists_out_of_bounds_are_poison_and_the_reason_echoes_little() {
    let reason = |change: &dyn Fn(&mut serde_json::Value)| {
        let mut value = upsert_value();
        change(&mut value);
        let err = decode_value(Some(ID), &value).unwrap_err();
        (err.kind(), err.to_string())
    };
    let huge = "n".repeat(1 << 20);
    assert_eq!(
        reason(&|v| v["track"]["name"] = json!(huge)),
        (
            "out of bounds",
            "name has 1048576 characters; at most 500".into()
        )
    );
    assert_eq!(
        reason(&|v| v["track"]["artists"] = json!([""])),
        ("out of bounds", "artists[0] is empty".into())
    );
    assert_eq!(
        reason(&|v| v["track"]["playlists"][0]["genre"] = json!("g".repeat(101))),
        (
            "out of bounds",
            "playlists[0].genre has 101 characters; at most 100".into()
        )
    );
    // serde names an unknown field in full; the reason keeps a prefix.
    let (kind, why) = reason(&|v| v["track"][&huge] = json!(1));
    assert_eq!(kind, "schema");
    assert!(
        why.starts_with("does not match the message schema: unknown field `nnn"),
        "{why}"
    );
    assert!(why.len() < 500, "{} bytes", why.len());
    let (kind, why) = reason(&|v| v["track"]["id"] = json!(huge));
    assert_eq!(kind, "invalid track id");
    assert!(why.len() < 500, "{} bytes", why.len());
    let long_key = decode(
        Some(huge.as_bytes()),
        Some(upsert_value().to_string().as_bytes()),
    );
    let why = long_key.unwrap_err().to_string();
    assert!(why.starts_with("the key \"nnn") && why.len() < 500, "{why}");
}

#[test]
fn the_schema_gives_every_feature_its_domain_range() {
    let schema = json_schema();
    let props = schema
        .pointer("/$defs/FeatureRecord/properties")
        .and_then(|p| p.as_object())
        .unwrap();
    assert_eq!(props.len(), Feature::ALL.len());
    for feature in Feature::ALL {
        let prop = &props[feature.column()];
        let (min, max) = feature.range();
        let bounds = prop.get("anyOf").and_then(|a| a.get(0)).unwrap_or(prop);
        assert_eq!(bounds["minimum"], json!(min), "{feature}");
        assert_eq!(bounds["maximum"], json!(max), "{feature}");
    }
}

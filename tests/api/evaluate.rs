//! The real `timbre evaluate` on a small made-up dataset: it prints a row
//! per method and per feature space, every rate within 0..=1.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::helpers::data_dir;

/// Four playlists of 15 tracks over 40 tracks, each sharing five with the
/// next, so that co-occurrence has something to relate; two genres.
fn playlists_csv(dir: &Path) -> PathBuf {
    let mut text = String::from(
        "track_id,track_name,track_artist,track_popularity,track_album_id,track_album_name,track_album_release_date,playlist_name,playlist_id,playlist_genre,playlist_subgenre,danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,duration_ms\n",
    );
    for p in 0..4 {
        let (genre, sub) = if p < 2 {
            ("rock", "hard rock")
        } else {
            ("pop", "dance pop")
        };
        // Playlist 3 wraps round to tracks 0..5.
        for i in (10 * p..10 * p + 15).map(|i| i % 40) {
            let x = i as f64 / 40.0;
            text.push_str(&format!(
                "e{i:021},Song {i},Artist {a},{pop},alb{a},Album {a},2001,{genre} {p},pl{p},{genre},{sub},{d:.3},{x:.3},{key},{loud:.2},{mode},0.05,{ac:.3},0.0,0.1,{val:.3},{tempo:.1},{dur}\n",
                a = i % 7,
                pop = (i * 37) % 101,
                d = 0.3 + 0.05 * (i % 10) as f64,
                key = i % 12,
                loud = -12.0 + 8.0 * x,
                mode = i % 2,
                ac = 1.0 - x,
                val = (i % 13) as f64 / 13.0,
                tempo = 90.0 + 60.0 * x,
                dur = 180_000 + i * 1_000,
            ));
        }
    }
    let path = dir.join("playlists.csv");
    std::fs::write(&path, text).expect("CSV written");
    path
}

/// The rows of the table whose header starts with `first_header`, as
/// cells (columns are two or more spaces apart).
fn table_rows(out: &str, first_header: &str) -> Vec<Vec<String>> {
    out.lines()
        .skip_while(|l| !l.starts_with(first_header))
        .skip(2)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(String::from)
                .collect()
        })
        .collect()
}

fn number(cell: &str) -> f64 {
    cell.parse()
        .unwrap_or_else(|_| panic!("not a number: {cell:?}"))
}

#[test]
fn evaluate_prints_every_method_and_space_with_rates_in_range() {
    let dir = data_dir();
    let csv = playlists_csv(dir.path());
    let out = Command::new(env!("CARGO_BIN_EXE_timbre"))
        .args(["evaluate", "--dataset"])
        .arg(&csv)
        .args(["--blend-weights", "0.25,0.9"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("40 tracks, 4 playlists") && stdout.contains("4 playlists of >= 10"),
        "{stdout}"
    );

    let methods = table_rows(&stdout, "method");
    let names: Vec<&str> = methods.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        names,
        [
            "random",
            "most popular",
            "content only (blend 0)",
            "co-occurrence only",
            "blend 0.25",
            "blend 0.90",
            "co-occurrence only (trained, 1000 neighbours)",
            "blend 0.90 (trained, 1000 neighbours)",
        ],
        "{stdout}"
    );
    // 1000 neighbours keep every track of 40 that shares a list: the trained
    // model scores as the lists do, so its rows equal theirs.
    assert_eq!(methods[6][1..], methods[3][1..], "{stdout}");
    assert_eq!(methods[7][1..], methods[5][1..], "{stdout}");
    for row in &methods {
        assert_eq!(row.len(), 7, "{row:?}");
        // HR@10, HR@50, NDCG@50, recall@50, coverage@10 are rates; ILD@10
        // is a distance.
        for cell in &row[1..6] {
            assert!((0.0..=1.0).contains(&number(cell)), "{row:?}");
        }
        assert!(number(&row[6]) >= 0.0, "{row:?}");
    }
    // A catalogue of 40 leaves 28 unseen tracks per playlist, so every
    // list holds all three hidden ones: HR@50 is 1 for every method.
    assert!(methods.iter().all(|r| number(&r[2]) == 1.0), "{stdout}");
    assert!(
        stdout.contains("best blend weight by NDCG@50: "),
        "{stdout}"
    );

    let spaces = table_rows(&stdout, "space");
    assert_eq!(spaces.len(), 6, "{stdout}");
    assert!(spaces[0][0].starts_with("v1 "), "{stdout}");
    assert!(spaces[5][0].starts_with("chance"), "{stdout}");
    for row in &spaces {
        for cell in row[1..].iter().filter(|c| *c != "-") {
            assert!((0.0..=1.0).contains(&number(cell)), "{row:?}");
        }
    }
    assert!(stdout.contains("\ntook "), "{stdout}");
}

#[test]
fn evaluate_refuses_a_dataset_without_large_playlists() {
    let dir = data_dir();
    let csv = crate::helpers::synthetic_csv(dir.path(), 12);
    let out = Command::new(env!("CARGO_BIN_EXE_timbre"))
        .args(["evaluate", "--dataset"])
        .arg(&csv)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no playlist has 10 tracks"), "{stderr}");
}

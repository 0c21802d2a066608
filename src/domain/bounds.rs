//! Bounds on what a track may hold, checked in the last step of every
//! parse ([`Track::admit`]): a CSV row, a Kafka message, `upsertTracks`,
//! the Web API's JSON. Without them one message with a 1 MB name, or a
//! list of a million playlists, is kept in memory, in the index's
//! metadata, in the store and in the lake, and shown to every client.
//!
//! The numbers leave room far beyond real catalogues (Spotify's longest
//! track names are a few hundred characters; the shared dataset's tracks
//! sit in at most a dozen playlists) and are the same in the Kafka message
//! schema (`maxLength`, `maxItems`), which is generated from the record
//! types that carry them. Lengths count characters, not bytes.

use super::{DomainError, Track};

/// Track, album, artist and playlist names.
pub const MAX_NAME_CHARS: usize = 500;
/// Genre and subgenre names (also a playlist's genre and subgenre).
pub const MAX_GENRE_CHARS: usize = 100;
/// Album and playlist ids.
pub const MAX_ID_CHARS: usize = 100;
/// Artists of one track.
pub const MAX_ARTISTS: usize = 50;
/// Genres of one track, and subgenres.
pub const MAX_GENRES: usize = 50;
/// Playlists holding one track.
pub const MAX_PLAYLISTS: usize = 1_000;
/// How much of a rejected value an error message repeats.
pub const ECHO_CHARS: usize = 64;
/// The longest error message sent back (a parser's message can quote the
/// input: serde's "unknown field" repeats a field name of any length).
pub const MESSAGE_CHARS: usize = 300;

/// At most [`ECHO_CHARS`] characters of `text`, marked when cut: what an
/// error message may repeat of the input it rejects.
pub fn echo(text: &str) -> String {
    cut(text, ECHO_CHARS)
}

/// A whole error message cut to [`MESSAGE_CHARS`] characters.
pub fn clip(message: &str) -> String {
    cut(message, MESSAGE_CHARS)
}

fn cut(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        None => text.to_string(),
        Some((at, _)) => format!("{}… ({} bytes)", &text[..at], text.len()),
    }
}

/// Checks `track` against the bounds.
///
/// # Errors
/// [`DomainError::OutOfBounds`] naming the first field out of bounds.
pub fn check(track: &Track) -> Result<(), DomainError> {
    text("name", track.name.as_deref(), MAX_NAME_CHARS)?;
    list("artists", &track.artists, MAX_ARTISTS, MAX_NAME_CHARS)?;
    text("album.id", track.album.id.as_deref(), MAX_ID_CHARS)?;
    text("album.name", track.album.name.as_deref(), MAX_NAME_CHARS)?;
    list("genres", &track.genres, MAX_GENRES, MAX_GENRE_CHARS)?;
    list("subgenres", &track.subgenres, MAX_GENRES, MAX_GENRE_CHARS)?;
    count("playlists", track.playlists.len(), MAX_PLAYLISTS)?;
    for (i, p) in track.playlists.iter().enumerate() {
        text(&format!("playlists[{i}].id"), Some(&p.id), MAX_ID_CHARS)?;
        text(
            &format!("playlists[{i}].name"),
            p.name.as_deref(),
            MAX_NAME_CHARS,
        )?;
        let genre = p.genre.as_deref();
        text(&format!("playlists[{i}].genre"), genre, MAX_GENRE_CHARS)?;
        let subgenre = p.subgenre.as_deref();
        text(
            &format!("playlists[{i}].subgenre"),
            subgenre,
            MAX_GENRE_CHARS,
        )?;
    }
    Ok(())
}

/// A present text must hold something besides white space, and at most
/// `max` characters.
fn text(field: &str, value: Option<&str>, max: usize) -> Result<(), DomainError> {
    let Some(value) = value else { return Ok(()) };
    if value.trim().is_empty() {
        return Err(DomainError::OutOfBounds(format!("{field} is empty")));
    }
    let chars = value.chars().count();
    if chars > max {
        return Err(DomainError::OutOfBounds(format!(
            "{field} has {chars} characters; at most {max}"
        )));
    }
    Ok(())
}

fn count(field: &str, len: usize, max: usize) -> Result<(), DomainError> {
    if len > max {
        return Err(DomainError::OutOfBounds(format!(
            "{field} has {len} items; at most {max}"
        )));
    }
    Ok(())
}

fn list(field: &str, items: &[String], max: usize, max_chars: usize) -> Result<(), DomainError> {
    count(field, items.len(), max)?;
    for (i, item) in items.iter().enumerate() {
        text(&format!("{field}[{i}]"), Some(item), max_chars)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::track::tests_support::track;
    use crate::domain::Playlist;

    fn rejected(change: impl FnOnce(&mut Track)) -> String {
        let mut t = track("0000000000000000000001", &["rock"], "Queen", 80, 1975);
        change(&mut t);
        match check(&t) {
            Err(DomainError::OutOfBounds(why)) => why,
            other => panic!("expected a bound to be hit, got {other:?}"),
        }
    }

    #[test]
    fn each_bound_rejects_one_past_it_and_says_which_field() {
        let t = track("0000000000000000000001", &["rock"], "Queen", 80, 1975);
        assert_eq!(check(&t), Ok(()));
        let long = |n: usize| "é".repeat(n);
        let mut at_max = t.clone();
        at_max.name = Some(long(MAX_NAME_CHARS));
        at_max.artists = vec![long(MAX_NAME_CHARS); MAX_ARTISTS];
        assert_eq!(check(&at_max), Ok(()), "the bounds themselves are allowed");

        let why = rejected(|t| t.name = Some(long(MAX_NAME_CHARS + 1)));
        assert_eq!(why, "name has 501 characters; at most 500");
        assert_eq!(
            rejected(|t| t.artists = vec![String::new()]),
            "artists[0] is empty"
        );
        assert_eq!(
            rejected(|t| t.artists.push("  ".into())),
            "artists[1] is empty"
        );
        assert_eq!(
            rejected(|t| t.artists = vec!["a".into(); MAX_ARTISTS + 1]),
            "artists has 51 items; at most 50"
        );
        assert_eq!(
            rejected(|t| t.album.name = Some(long(1_000_000))),
            "album.name has 1000000 characters; at most 500"
        );
        assert_eq!(
            rejected(|t| t.genres = vec![long(MAX_GENRE_CHARS + 1)]),
            "genres[0] has 101 characters; at most 100"
        );
        let playlist = |id: &str| Playlist {
            id: id.into(),
            name: None,
            genre: None,
            subgenre: None,
        };
        assert_eq!(
            rejected(|t| t.playlists = vec![playlist("p"), playlist("")]),
            "playlists[1].id is empty"
        );
        assert_eq!(
            rejected(|t| t.playlists = vec![playlist("p"); MAX_PLAYLISTS + 1]),
            "playlists has 1001 items; at most 1000"
        );
    }

    #[test]
    fn an_echo_is_a_short_prefix_cut_on_a_character() {
        assert_eq!(echo("short"), "short");
        let long = "ü".repeat(100_000);
        let shown = echo(&long);
        assert!(shown.starts_with(&"ü".repeat(ECHO_CHARS)));
        assert!(shown.ends_with("… (200000 bytes)"), "{shown}");
        assert!(shown.len() < 200);
        let message = format!("unknown field `{}`, expected `id`", "x".repeat(500_000));
        let clipped = clip(&message);
        assert!(clipped.starts_with("unknown field `xxx"), "{clipped}");
        assert_eq!(
            clipped.chars().count(),
            MESSAGE_CHARS + "… (500033 bytes)".chars().count()
        );
    }
}

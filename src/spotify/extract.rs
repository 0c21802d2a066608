//! `timbre extract`: tracks from the Spotify Web API, by track, album,
//! playlist or artist, with their audio features.
//!
//! Only endpoints a new app may still call are used: a single track, an
//! album with its tracks, an artist with its albums, a playlist's items.
//! Audio features come from, in turn: the Web API's `audio-features`
//! endpoint (apps made before 27 Nov 2024); else the configured features
//! provider (`spotify.features_url`, same response shape); else none, and
//! the track stays in the raw zone only, reported as "no features" (it
//! cannot be placed in the feature space). Once the Web API refuses
//! audio features (403), it is not asked again in the run.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

use super::client::{Client, SpotifyError};
use crate::domain::{Playlist, TrackId};

/// What to extract, from a Spotify URI (`spotify:album:ID`) or an
/// `open.spotify.com` link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Track(String),
    Album(String),
    Playlist(String),
    Artist(String),
}

impl Target {
    /// Parses `spotify:KIND:ID` or `https://open.spotify.com/KIND/ID`.
    ///
    /// # Errors
    /// A message saying what is expected.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (kind, id) = if let Some(rest) = text.strip_prefix("spotify:") {
            rest.split_once(':').unwrap_or((rest, ""))
        } else if let Some(rest) = text
            .strip_prefix("https://open.spotify.com/")
            .or_else(|| text.strip_prefix("http://open.spotify.com/"))
        {
            let rest = rest.split(['?', '#']).next().unwrap_or_default();
            rest.split_once('/').unwrap_or((rest, ""))
        } else {
            ("", "")
        };
        let valid =
            !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric());
        let id = id.to_string();
        match (kind, valid) {
            ("track", true) => Ok(Target::Track(id)),
            ("album", true) => Ok(Target::Album(id)),
            ("playlist", true) => Ok(Target::Playlist(id)),
            ("artist", true) => Ok(Target::Artist(id)),
            _ => Err(format!(
                "{text:?} is not spotify:track:ID, spotify:album:ID, spotify:playlist:ID or spotify:artist:ID (or an open.spotify.com link to one)"
            )),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Track(id) => write!(f, "spotify:track:{id}"),
            Target::Album(id) => write!(f, "spotify:album:{id}"),
            Target::Playlist(id) => write!(f, "spotify:playlist:{id}"),
            Target::Artist(id) => write!(f, "spotify:artist:{id}"),
        }
    }
}

/// Where a track's features came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FeatureSource {
    WebApi,
    Provider,
}

/// What a run found.
#[derive(Debug, Default)]
pub struct Extracted {
    /// Web API track objects (full, or simplified with their album added),
    /// by id.
    pub tracks: BTreeMap<String, Value>,
    /// Audio-features objects, by id.
    pub features: BTreeMap<String, Value>,
    /// Where each track's features came from.
    pub feature_sources: BTreeMap<String, FeatureSource>,
    /// Playlists holding each track (for playlist targets).
    pub playlists: BTreeMap<String, Vec<Playlist>>,
    /// Genres of each track's artist (for artist targets).
    pub genres: BTreeMap<String, Vec<String>>,
    /// Tracks skipped because the catalogue has them already.
    pub skipped: usize,
    /// Errors that stopped one target (or, when fatal, the run).
    pub errors: Vec<(String, SpotifyError)>,
    /// Whether the Web API refused audio features to this app.
    pub web_api_features_refused: bool,
}

impl Extracted {
    /// Ids of tracks found without features.
    pub fn without_features(&self) -> Vec<&str> {
        self.tracks
            .keys()
            .filter(|id| !self.features.contains_key(*id))
            .map(String::as_str)
            .collect()
    }

    /// The tracks with features as one Web API document
    /// (`{"tracks": [...], "audio_features": [...]}`), for the import path.
    pub fn document(&self) -> Vec<u8> {
        let tracks: Vec<&Value> = self
            .tracks
            .iter()
            .filter(|(id, _)| self.features.contains_key(*id))
            .map(|(_, t)| t)
            .collect();
        let features: Vec<&Value> = self.features.values().collect();
        serde_json::to_vec(&serde_json::json!({ "tracks": tracks, "audio_features": features }))
            .expect("JSON values serialise")
    }
}

/// Extracts every target, skipping tracks in `have`. A target that fails
/// (not found, forbidden, a malformed answer) is recorded in `errors` and
/// the others go on; a fatal error (credentials, a long rate limit, an
/// unreachable API) stops the run, keeping what was extracted before it.
pub fn extract(client: &mut Client, targets: &[Target], have: &HashSet<TrackId>) -> Extracted {
    let mut out = Extracted::default();
    for target in targets {
        let found = match target {
            Target::Track(id) => {
                let url = format!("{}/tracks/{id}{}", client.api_url(), market(client, '?'));
                client.get(&url).map(|t| vec![t])
            }
            Target::Album(id) => album_tracks(client, id),
            Target::Playlist(id) => playlist_tracks(client, id, &mut out),
            Target::Artist(id) => artist_tracks(client, id, &mut out),
        };
        match found {
            Ok(tracks) => {
                for track in tracks {
                    let Some(id) = track["id"].as_str().map(str::to_string) else {
                        continue;
                    };
                    if TrackId::parse(&id).is_ok_and(|t| have.contains(&t)) {
                        out.skipped += 1;
                        continue;
                    }
                    out.tracks.entry(id).or_insert(track);
                }
            }
            Err(e) => {
                let fatal = e.is_fatal();
                tracing::warn!(target = %target, error = %e, "extracting failed");
                out.errors.push((target.to_string(), e));
                if fatal {
                    return out;
                }
            }
        }
    }
    let ids: Vec<String> = out.tracks.keys().cloned().collect();
    for id in ids {
        match features(client, &id, &mut out) {
            Ok(()) => {}
            Err(e) => {
                let fatal = e.is_fatal();
                out.errors.push((format!("audio features of {id}"), e));
                if fatal {
                    return out;
                }
            }
        }
    }
    out
}

fn market(client: &Client, separator: char) -> String {
    client
        .market()
        .map(|m| format!("{separator}market={m}"))
        .unwrap_or_default()
}

/// Follows a paging object's `next` links, collecting `items`.
fn pages(client: &mut Client, first: Value) -> Result<Vec<Value>, SpotifyError> {
    let mut items = Vec::new();
    let mut page = first;
    loop {
        if let Some(list) = page["items"].as_array() {
            items.extend(list.iter().cloned());
        }
        match page["next"].as_str() {
            Some(next) if !next.is_empty() => {
                let next = next.to_string();
                page = client.get(&next)?;
            }
            _ => return Ok(items),
        }
    }
}

/// An album's tracks, each with the album (which simplified tracks lack).
fn album_tracks(client: &mut Client, id: &str) -> Result<Vec<Value>, SpotifyError> {
    let url = format!("{}/albums/{id}{}", client.api_url(), market(client, '?'));
    let album = client.get(&url)?;
    let summary = serde_json::json!({
        "id": album["id"],
        "name": album["name"],
        "release_date": album["release_date"],
    });
    let items = pages(client, album["tracks"].clone())?;
    Ok(items
        .into_iter()
        .map(|mut t| {
            t["album"] = summary.clone();
            t
        })
        .collect())
}

/// A playlist's tracks, each noted as held by the playlist.
fn playlist_tracks(
    client: &mut Client,
    id: &str,
    out: &mut Extracted,
) -> Result<Vec<Value>, SpotifyError> {
    let url = format!("{}/playlists/{id}{}", client.api_url(), market(client, '?'));
    let playlist = client.get(&url)?;
    let membership = Playlist {
        id: id.to_string(),
        name: playlist["name"].as_str().map(str::to_string),
        genre: None,
        subgenre: None,
    };
    let items = pages(client, playlist["tracks"].clone())?;
    let tracks: Vec<Value> = items
        .into_iter()
        .filter_map(|item| {
            let track = item.get("track").cloned().unwrap_or(Value::Null);
            // Episodes and local files have no Spotify track id.
            (track["type"].as_str().unwrap_or("track") == "track" && track["id"].is_string())
                .then_some(track)
        })
        .collect();
    for t in &tracks {
        if let Some(tid) = t["id"].as_str() {
            out.playlists
                .entry(tid.to_string())
                .or_default()
                .push(membership.clone());
        }
    }
    Ok(tracks)
}

/// An artist's tracks, over their albums and singles; each gets the
/// artist's genres.
fn artist_tracks(
    client: &mut Client,
    id: &str,
    out: &mut Extracted,
) -> Result<Vec<Value>, SpotifyError> {
    let artist = client.get(&format!("{}/artists/{id}", client.api_url()))?;
    let genres: Vec<String> = artist["genres"]
        .as_array()
        .map(|g| {
            g.iter()
                .filter_map(|v| v.as_str().map(str::to_lowercase))
                .collect()
        })
        .unwrap_or_default();
    let url = format!(
        "{}/artists/{id}/albums?include_groups=album,single&limit=50{}",
        client.api_url(),
        market(client, '&')
    );
    let first = client.get(&url)?;
    let albums = pages(client, first)?;
    let mut tracks = Vec::new();
    for album in albums {
        if let Some(album_id) = album["id"].as_str() {
            tracks.extend(album_tracks(client, album_id)?);
        }
    }
    if !genres.is_empty() {
        for t in &tracks {
            if let Some(tid) = t["id"].as_str() {
                out.genres.insert(tid.to_string(), genres.clone());
            }
        }
    }
    Ok(tracks)
}

/// One track's audio features, from the Web API or the provider.
fn features(client: &mut Client, id: &str, out: &mut Extracted) -> Result<(), SpotifyError> {
    if !out.web_api_features_refused {
        let url = format!("{}/audio-features/{id}", client.api_url());
        match client.get(&url) {
            Ok(f) if f.is_object() => {
                out.features.insert(id.to_string(), f);
                out.feature_sources
                    .insert(id.to_string(), FeatureSource::WebApi);
                return Ok(());
            }
            Ok(_) => {}
            // New apps get 403 here: ask the provider from now on.
            Err(SpotifyError::Status { status: 403, .. }) => {
                tracing::info!("the Web API refuses audio features to this app (made after 27 Nov 2024); asking the features provider");
                out.web_api_features_refused = true;
            }
            Err(SpotifyError::Status { status: 404, .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let Some(provider) = client.features_url().map(str::to_string) else {
        return Ok(());
    };
    match client.get(&format!("{provider}/{id}")) {
        Ok(f) if f.is_object() => {
            out.features.insert(id.to_string(), f);
            out.feature_sources
                .insert(id.to_string(), FeatureSource::Provider);
            Ok(())
        }
        Ok(_) | Err(SpotifyError::Status { status: 404, .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_from_uris_and_links() {
        assert_eq!(
            Target::parse("spotify:album:4aawyAB9vmqN3uQ7FjRGTy"),
            Ok(Target::Album("4aawyAB9vmqN3uQ7FjRGTy".into()))
        );
        assert_eq!(
            Target::parse("https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M?si=x"),
            Ok(Target::Playlist("37i9dQZF1DXcBWIGoYBM5M".into()))
        );
        for bad in [
            "spotify:show:abc",
            "spotify:track:",
            "spotify:track:a/b",
            "album",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }
}

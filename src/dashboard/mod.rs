//! The dashboard's files: a static single-page app served at `/dashboard/`
//! by the HTTP adapter, built only on timbre's public GraphQL API (queries
//! over HTTP, subscriptions over `graphql-transport-ws`), so that it shows
//! API users what the API can do and needs nothing the API does not give.
//!
//! The files are compiled into the binary: the server has nothing to deploy
//! beside it, and the page works offline, with nothing loaded from a CDN
//! (the HTTP adapter's Content-Security-Policy forbids it). The two
//! libraries it uses, Chart.js and graphql-ws's browser build, are vendored
//! under `assets/vendor/` at pinned npm versions by
//! `scripts/vendor-dashboard.sh`, which records their checksums in
//! `assets/vendor/VERSIONS`. Plain ES modules, no build step: a newcomer
//! edits a file and reloads.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

/// One file of the dashboard.
#[derive(Debug)]
pub struct Asset {
    /// Its path below `/dashboard/`.
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

macro_rules! assets {
    ($($path:literal => $type:expr),* $(,)?) => {
        &[$(Asset {
            path: $path,
            content_type: $type,
            body: include_bytes!(concat!("assets/", $path)),
        }),*]
    };
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Every file, `index.html` first.
pub const ASSETS: &[Asset] = assets![
    "index.html" => HTML,
    "dashboard.css" => CSS,
    "app.js" => JS,
    "api.js" => JS,
    "charts.js" => JS,
    "format.js" => JS,
    "pages/overview.js" => JS,
    "pages/trends.js" => JS,
    "pages/listeners.js" => JS,
    "pages/live.js" => JS,
    "pages/jobs.js" => JS,
    "pages/explorer.js" => JS,
    "vendor/chart.umd.min.js" => JS,
    "vendor/graphql-ws.min.js" => JS,
];

/// The file at `path` below `/dashboard/` (empty: the page itself).
pub fn asset(path: &str) -> Option<&'static Asset> {
    let path = if path.is_empty() { "index.html" } else { path };
    ASSETS.iter().find(|a| a.path == path)
}

/// An entity tag for every file: the files change only with the binary,
/// so one tag of all of them lets browsers revalidate with a 304 instead
/// of downloading ~250 KB again.
pub fn etag() -> &'static str {
    static TAG: OnceLock<String> = OnceLock::new();
    TAG.get_or_init(|| {
        let mut hasher = DefaultHasher::new();
        for asset in ASSETS {
            asset.path.hash(&mut hasher);
            asset.body.hash(&mut hasher);
        }
        format!("\"{}-{:016x}\"", env!("CARGO_PKG_VERSION"), hasher.finish())
    })
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;

    #[test]
    fn every_file_is_found_by_its_path_and_the_page_by_none() {
        for a in ASSETS {
            assert_eq!(asset(a.path).map(|f| f.path), Some(a.path));
            assert!(!a.body.is_empty(), "{} is empty", a.path);
        }
        assert_eq!(asset("").unwrap().path, "index.html");
        assert!(asset("../Cargo.toml").is_none());
        assert!(asset("nothing.js").is_none());
    }

    #[test]
    fn the_page_loads_only_files_the_server_has() {
        let page = std::str::from_utf8(asset("index.html").unwrap().body).unwrap();
        let mut refs = 0;
        for attr in ["src=\"", "href=\""] {
            for part in page.split(attr).skip(1) {
                let target = &part[..part.find('"').unwrap()];
                refs += 1;
                // A file of the dashboard, a fragment, an inline `data:`
                // URI or another path of this server; never another host.
                let own = asset(target.trim_start_matches("./")).is_some()
                    || target.starts_with('#')
                    || target.starts_with("data:")
                    || (target.starts_with('/') && !target.starts_with("//"));
                assert!(own, "index.html refers to {target}, off this server");
            }
        }
        assert!(refs >= 3, "index.html should load its scripts and styles");
    }

    #[test]
    fn modules_import_only_files_the_server_has() {
        for a in ASSETS
            .iter()
            .filter(|a| a.path.ends_with(".js") && !a.path.starts_with("vendor/"))
        {
            let text = std::str::from_utf8(a.body).unwrap();
            let dir = a.path.rsplit_once('/').map_or("", |(d, _)| d);
            for line in text.lines().filter(|l| l.starts_with("import ")) {
                let spec = line.split(['"', '\'']).nth(1).unwrap();
                let resolved = resolve(dir, spec);
                assert!(
                    asset(&resolved).is_some(),
                    "{} imports {spec} ({resolved}), which the server does not serve",
                    a.path
                );
            }
        }
    }

    /// `spec` (`./x.js`, `../x.js`) relative to the directory `dir`.
    fn resolve(dir: &str, spec: &str) -> String {
        let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
        for part in spec.split('/') {
            match part {
                "." => {}
                ".." => {
                    parts.pop();
                }
                p => parts.push(p),
            }
        }
        parts.join("/")
    }

    #[test]
    fn vendored_libraries_are_the_recorded_versions() {
        let versions = include_str!("assets/vendor/VERSIONS");
        for a in ASSETS.iter().filter(|a| a.path.starts_with("vendor/")) {
            let name = a.path.trim_start_matches("vendor/");
            let line = versions
                .lines()
                .find(|l| l.ends_with(name))
                .unwrap_or_else(|| panic!("{name} is not in assets/vendor/VERSIONS"));
            let recorded = line.split_whitespace().next().unwrap();
            let actual = format!("{:x}", Sha256::digest(a.body));
            assert_eq!(actual, recorded, "{name} is not the file vendored");
        }
    }
}

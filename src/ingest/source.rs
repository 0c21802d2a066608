//! Where an import reads from: a local file or an http(s) URL, so that a
//! newcomer can point `timbre serve --import` at the public dataset's
//! download address.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::PathBuf;

use super::IngestError;

/// A path or URL to import from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Path(PathBuf),
    Url(String),
}

impl Source {
    /// `http://` and `https://` addresses are URLs; anything else a path.
    pub fn parse(text: &str) -> Self {
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            Source::Url(text.to_string())
        } else {
            Source::Path(PathBuf::from(text))
        }
    }

    /// Opens the source for reading; returns the reader and, where known,
    /// its length in bytes (for the progress bar).
    ///
    /// # Errors
    /// [`IngestError::Open`] when the file cannot be opened or the URL does
    /// not answer with success.
    pub fn open(&self) -> Result<(Box<dyn Read + Send>, Option<u64>), IngestError> {
        let fail = |reason: String| IngestError::Open {
            input: self.to_string(),
            reason,
        };
        match self {
            Source::Path(path) => {
                let file = File::open(path).map_err(|e| fail(e.to_string()))?;
                let len = file.metadata().ok().map(|m| m.len());
                Ok((Box::new(file), len))
            }
            Source::Url(url) => {
                let response = ureq::get(url).call().map_err(|e| fail(e.to_string()))?;
                let len = response
                    .headers()
                    .get("content-length")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok());
                Ok((Box::new(response.into_body().into_reader()), len))
            }
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Path(p) => write!(f, "{}", p.display()),
            Source::Url(u) => f.write_str(u),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_paths_are_told_apart() {
        assert!(matches!(
            Source::parse("HTTPS://example.org/a.csv"),
            Source::Url(_)
        ));
        assert!(matches!(
            Source::parse("http://127.0.0.1:1/a.csv"),
            Source::Url(_)
        ));
        assert!(matches!(Source::parse("data/a.csv"), Source::Path(_)));
    }

    #[test]
    fn a_missing_file_is_an_open_error_naming_it() {
        let err = Source::parse("/no/such/file.csv").open().err().unwrap();
        assert!(err.to_string().contains("/no/such/file.csv"), "{err}");
    }
}

//! [`ReleaseDate`]: an album's release date at Spotify's precision.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{DomainError, Result};

/// An album release date at the precision Spotify knows it: a year, a
/// month or a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ReleaseDate {
    pub year: u16,
    pub month: Option<u8>,
    pub day: Option<u8>,
}

impl ReleaseDate {
    /// Parses `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
    ///
    /// # Errors
    /// [`DomainError::InvalidDate`] for anything else, or an impossible
    /// month or day.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        let bad = || DomainError::InvalidDate(super::bounds::echo(text));
        let mut parts = text.split('-');
        let year: u16 = parts
            .next()
            .filter(|y| y.len() == 4)
            .and_then(|y| y.parse().ok())
            .ok_or_else(bad)?;
        let mut next = |max: u8| -> Result<Option<u8>> {
            match parts.next() {
                None => Ok(None),
                Some(p) => match p.parse::<u8>() {
                    Ok(v) if (1..=max).contains(&v) && p.len() == 2 => Ok(Some(v)),
                    _ => Err(bad()),
                },
            }
        };
        let month = next(12)?;
        let day = next(31)?;
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(ReleaseDate { year, month, day })
    }
}

impl fmt::Display for ReleaseDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.year)?;
        if let Some(m) = self.month {
            write!(f, "-{m:02}")?;
            if let Some(d) = self.day {
                write!(f, "-{d:02}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn release_dates_keep_their_precision() {
        assert_eq!(ReleaseDate::parse("2019").unwrap().to_string(), "2019");
        assert_eq!(ReleaseDate::parse("2019-06").unwrap().month, Some(6));
        assert_eq!(
            ReleaseDate::parse("2019-06-14").unwrap().to_string(),
            "2019-06-14"
        );
        for bad in ["19", "2019-13", "2019-06-14-1", "abcd", "2019-6"] {
            assert!(ReleaseDate::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn release_date_text_round_trips(y in 1000u16..3000, m in 1u8..=12, d in 1u8..=28) {
            let text = format!("{y:04}-{m:02}-{d:02}");
            prop_assert_eq!(ReleaseDate::parse(&text).unwrap().to_string(), text);
        }
    }
}

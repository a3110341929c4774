//! Runtime versions: semantic versions packed into a `u32` for the hot path.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

/// A runtime's semantic version, packed so that integer order is semver order.
///
/// Layout (most significant first): major 8 bits, minor 10 bits, patch 13 bits,
/// 1 bit that is set for releases and clear for pre-releases (so `3.4.0-rc.1`
/// sorts below `3.4.0`). Pre-release identifiers beyond that bit and build
/// metadata are not kept. Components above 255 / 1023 / 8191 are rejected.
///
/// ```
/// use fleetgov::RuntimeVersion;
/// let min: RuntimeVersion = "3.4.0".parse().unwrap();
/// assert!("3.3.9".parse::<RuntimeVersion>().unwrap() < min);
/// assert!("3.4.0-rc.1".parse::<RuntimeVersion>().unwrap() < min);
/// assert!("3.10.0".parse::<RuntimeVersion>().unwrap() > min);
/// assert!("3.4".parse::<RuntimeVersion>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuntimeVersion(u32);

const MAJOR_MAX: u64 = (1 << 8) - 1;
const MINOR_MAX: u64 = (1 << 10) - 1;
const PATCH_MAX: u64 = (1 << 13) - 1;

impl RuntimeVersion {
    /// The workspace default minimum runtime version, `3.4.0`.
    pub const DEFAULT_MINIMUM: RuntimeVersion = RuntimeVersion::new_release(3, 4, 0);

    const fn new_release(major: u32, minor: u32, patch: u32) -> Self {
        RuntimeVersion(major << 24 | minor << 14 | patch << 1 | 1)
    }

    /// Builds a release version; errors if a component is too large.
    pub fn new(major: u64, minor: u64, patch: u64) -> Result<Self> {
        if major > MAJOR_MAX || minor > MINOR_MAX || patch > PATCH_MAX {
            return Err(Error::invalid(format!(
                "runtime version {major}.{minor}.{patch} is out of range \
                 (major <= {MAJOR_MAX}, minor <= {MINOR_MAX}, patch <= {PATCH_MAX})"
            )));
        }
        Ok(Self::new_release(major as u32, minor as u32, patch as u32))
    }

    /// The packed form (what the binary heartbeat record carries).
    pub fn to_bits(self) -> u32 {
        self.0
    }

    /// Unpacks a value produced by [`to_bits`](Self::to_bits). Zero is not a
    /// version (it is what "no version reported" encodes) and is rejected.
    pub fn from_bits(bits: u32) -> Result<Self> {
        if bits == 0 {
            return Err(Error::invalid("runtime version is missing (packed value 0)"));
        }
        Ok(RuntimeVersion(bits))
    }

    /// Major, minor and patch.
    pub fn parts(self) -> (u32, u32, u32) {
        (self.0 >> 24, (self.0 >> 14) & MINOR_MAX as u32, (self.0 >> 1) & PATCH_MAX as u32)
    }

    /// Whether this is a pre-release (`3.4.0-rc.1`).
    pub fn is_prerelease(self) -> bool {
        self.0 & 1 == 0
    }
}

impl FromStr for RuntimeVersion {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let v = semver::Version::parse(s.trim_start_matches('v'))
            .map_err(|e| Error::invalid(format!("runtime version {s:?} is not semver: {e}")))?;
        let release = RuntimeVersion::new(v.major, v.minor, v.patch)?;
        Ok(if v.pre.is_empty() { release } else { RuntimeVersion(release.0 & !1) })
    }
}

impl fmt::Display for RuntimeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (a, b, c) = self.parts();
        write!(f, "{a}.{b}.{c}")?;
        if self.is_prerelease() {
            f.write_str("-pre")?;
        }
        Ok(())
    }
}

impl fmt::Debug for RuntimeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RuntimeVersion({self})")
    }
}

impl Serialize for RuntimeVersion {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RuntimeVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_matches_semver_at_the_minimum_boundary() {
        let v = |s: &str| s.parse::<RuntimeVersion>().unwrap();
        assert!(v("3.3.9") < RuntimeVersion::DEFAULT_MINIMUM);
        assert_eq!(v("3.4.0"), RuntimeVersion::DEFAULT_MINIMUM);
        assert!(v("3.4.1") > RuntimeVersion::DEFAULT_MINIMUM);
        assert!(v("4.0.0") > v("3.1023.8191"));
        assert_eq!(v("3.5.2").parts(), (3, 5, 2));
        assert_eq!(v("3.5.2+build.7"), v("3.5.2"));
    }

    #[test]
    fn bits_round_trip_and_zero_is_rejected() {
        let v: RuntimeVersion = "7.8.9-beta".parse().unwrap();
        assert_eq!(RuntimeVersion::from_bits(v.to_bits()).unwrap(), v);
        assert!(RuntimeVersion::from_bits(0).is_err());
    }

    #[test]
    fn non_semver_and_out_of_range_are_invalid() {
        for bad in ["", "3", "3.4", "x.y.z", "3.4.0.1", "256.0.0", "1.1024.0", "1.0.8192"] {
            assert!(bad.parse::<RuntimeVersion>().is_err(), "{bad}");
        }
    }
}

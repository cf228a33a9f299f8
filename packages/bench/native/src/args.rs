//! Command-line options. Hand-rolled: the orchestrator is the only real user
//! and a dozen `--name value` pairs do not justify an argument-parser crate.

use std::collections::HashMap;
use std::str::FromStr;

use crate::BoxResult;

/// Options that take a value; anything else but the flags below is a typo,
/// and a typo in a benchmark silently measures the wrong thing.
const VALUED: &[&str] = &[
    "port",
    "cert",
    "key",
    "scenario",
    "streams",
    "timeout",
    "bytes",
    "count",
    "concurrency",
    "size",
    "connections",
    "interval",
    "probe-timeout",
];
const FLAGS: &[&str] = &["new-stream", "probe", "no-pacing"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    Bulk,
    Rr,
    Handshake,
    Dgram,
    Mixed,
}

pub struct Args {
    values: HashMap<String, String>,
}

impl Args {
    pub fn parse(argv: impl Iterator<Item = String>) -> BoxResult<Args> {
        let mut values = HashMap::new();
        let mut argv = argv.peekable();
        while let Some(arg) = argv.next() {
            let name = arg
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument {arg:?}"))?;
            // Accept `--name=value` as well as `--name value`.
            let (name, inline) = match name.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (name, None),
            };
            if FLAGS.contains(&name) {
                values.insert(name.to_string(), inline.unwrap_or_else(|| "true".into()));
            } else if VALUED.contains(&name) {
                let v = match inline {
                    Some(v) => v,
                    None => argv
                        .next()
                        .ok_or_else(|| format!("--{name} needs a value"))?,
                };
                values.insert(name.to_string(), v);
            } else {
                return Err(format!("unknown option --{name}").into());
            }
        }
        Ok(Args { values })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub fn require(&self, name: &str) -> BoxResult<&str> {
        self.get(name)
            .ok_or_else(|| format!("--{name} is required").into())
    }

    pub fn flag(&self, name: &str) -> bool {
        matches!(self.get(name), Some("true") | Some("1"))
    }

    /// A numeric option with a default; a present but unparsable value is an
    /// error rather than a silent fallback.
    pub fn num<T: FromStr>(&self, name: &str, default: T) -> BoxResult<T> {
        match self.get(name) {
            None => Ok(default),
            Some(s) => s
                .parse()
                .map_err(|_| format!("--{name}: not a valid number: {s:?}").into()),
        }
    }

    pub fn require_num<T: FromStr>(&self, name: &str) -> BoxResult<T> {
        let s = self.require(name)?;
        s.parse()
            .map_err(|_| format!("--{name}: not a valid number: {s:?}").into())
    }

    pub fn scenario(&self) -> BoxResult<Scenario> {
        match self.require("scenario")? {
            "bulk" => Ok(Scenario::Bulk),
            "rr" => Ok(Scenario::Rr),
            "handshake" => Ok(Scenario::Handshake),
            "dgram" => Ok(Scenario::Dgram),
            "mixed" => Ok(Scenario::Mixed),
            other => Err(
                format!("unknown scenario {other:?} (bulk, rr, handshake, dgram, mixed)").into(),
            ),
        }
    }
}

//! The framed protocol between `rsmrun` and its per-host proxies (`rsmrun --proxy`), carried
//! over the proxy's stdin (down) and stdout (up) — a pipe for a local proxy, the ssh or srun
//! channel for a remote one. One JSON object per line, so it passes through anything that
//! carries text. The proxy's stdin reaching end of file means `rsmrun` is gone: the proxy
//! kills its ranks.

use rsm_core::bootstrap::wire::{self, Bytes, Response};
use serde::{Deserialize, Serialize};

/// Version of this protocol; `rsmrun` and the proxy must agree.
pub const PROXY_PROTOCOL_VERSION: u32 = 1;
/// Longest frame line (a key-value reply is the largest).
pub const MAX_FRAME_LINE: usize = wire::MAX_RESPONSE_LINE + 1024 * 1024;
/// Largest output chunk per frame.
pub const OUTPUT_CHUNK: usize = 32 * 1024;

/// How ranks are bound to CPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum BindTo {
    /// Each local rank on its own core.
    Core,
    /// No binding.
    None,
}

/// Everything a proxy needs to start its host's ranks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchSpec {
    /// [`PROXY_PROTOCOL_VERSION`] of rsmrun.
    pub version: u32,
    /// The host's name as given to rsmrun.
    pub host: String,
    /// Node id of this host.
    pub node_id: u32,
    /// Number of hosts in the job.
    pub node_count: u32,
    /// Number of ranks in the job.
    pub size: u32,
    /// Job id.
    pub job_id: String,
    /// Job secret.
    pub secret: String,
    /// The global ranks to start here, in local-rank order.
    pub ranks: Vec<u32>,
    /// Program as the user gave it (a path, or a name looked up in PATH).
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Variables set for every rank (besides the bootstrap ones).
    pub env: Vec<(String, String)>,
    /// Working directory for the ranks.
    pub cwd: String,
    /// CPU binding.
    pub bind: BindTo,
    /// Verbose logging on the proxy's stderr.
    pub verbose: bool,
}

/// rsmrun → proxy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Down {
    /// First frame: start the ranks.
    Launch(Box<LaunchSpec>),
    /// Answer for key-value connection `conn` on this host.
    KvsReply {
        /// Connection number the proxy gave.
        conn: u64,
        /// The answer.
        response: Response,
    },
    /// Close key-value connection `conn` (after the replies sent before).
    KvsClose {
        /// Connection number.
        conn: u64,
    },
    /// Send `signal` to every running rank (its process group).
    Signal {
        /// Signal number.
        signal: i32,
    },
    /// SIGKILL every running rank now.
    Kill,
    /// The job is over: clean up (shared memory sweep), answer `done`, exit.
    Shutdown,
}

/// Which output stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// How a rank ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "how", rename_all = "snake_case")]
pub enum Exit {
    /// Exited with this code.
    Code {
        /// Exit code.
        code: i32,
    },
    /// Killed by this signal.
    Signal {
        /// Signal number.
        signal: i32,
        /// A core file was written.
        core_dumped: bool,
    },
    /// Could not be started (exit status as a shell would give: 127 not found, 126 not
    /// executable).
    NotStarted {
        /// Status to report.
        code: i32,
        /// Why.
        message: String,
    },
}

impl Exit {
    /// The exit status a shell would show: the code, or 128 + signal.
    pub fn status(&self) -> i32 {
        match self {
            Exit::Code { code } | Exit::NotStarted { code, .. } => *code,
            Exit::Signal { signal, .. } => 128 + signal,
        }
    }
    /// Whether this counts as a failure.
    pub fn failed(&self) -> bool {
        !matches!(self, Exit::Code { code: 0 })
    }
    /// Human description, e.g. `exited with code 3` or `was killed by signal 9 (SIGKILL)`.
    pub fn describe(&self) -> String {
        match self {
            Exit::Code { code } => format!("exited with code {code}"),
            Exit::Signal {
                signal,
                core_dumped,
            } => format!(
                "was killed by signal {signal} ({}){}",
                signal_name(*signal),
                if *core_dumped { ", core dumped" } else { "" }
            ),
            Exit::NotStarted { message, .. } => format!("could not be started: {message}"),
        }
    }
}

/// `SIGKILL`-style name of a signal number.
pub fn signal_name(signal: i32) -> String {
    match nix::sys::signal::Signal::try_from(signal) {
        Ok(s) => s.as_str().to_string(),
        Err(_) => format!("SIG{signal}"),
    }
}

/// proxy → rsmrun.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Up {
    /// The proxy accepted the launch spec and listens for its ranks.
    Ready {
        /// [`PROXY_PROTOCOL_VERSION`] of the proxy.
        version: u32,
        /// `gethostname()` of the machine the proxy runs on.
        hostname: String,
        /// Proxy process id.
        pid: u32,
        /// Address its ranks connect to (`RSM_KVS_ADDR`).
        kvs_addr: String,
        /// CPUs the proxy may use.
        cpus: usize,
    },
    /// A rank started.
    Started {
        /// Global rank.
        rank: u32,
        /// Its process id (on that host).
        pid: u32,
    },
    /// Output of a rank.
    Output {
        /// Global rank.
        rank: u32,
        /// Which stream.
        stream: Stream,
        /// The bytes.
        data: Bytes,
    },
    /// A rank ended (sent after its output).
    Exited {
        /// Global rank.
        rank: u32,
        /// How.
        exit: Exit,
    },
    /// A line from key-value connection `conn` of this host.
    Kvs {
        /// Connection number (per proxy).
        conn: u64,
        /// The raw request line.
        line: String,
    },
    /// Key-value connection `conn` closed (by the rank, or by the proxy for `reason`).
    KvsClosed {
        /// Connection number.
        conn: u64,
        /// Why the proxy closed it, if it did.
        reason: Option<String>,
    },
    /// Something rsmrun should print.
    Warning {
        /// The text.
        message: String,
    },
    /// The proxy cannot go on (bad spec, cannot listen, bad working directory); it exits.
    Fatal {
        /// Why.
        message: String,
    },
    /// Answer to shutdown: cleanup done, the proxy exits.
    Done {
        /// Shared-memory names removed.
        swept: usize,
        /// Cleanup error, if any.
        error: Option<String>,
    },
}

/// Splits a command line into words as a POSIX shell would for simple cases: whitespace
/// separates words, single quotes take everything literally, double quotes allow `\"` and
/// `\\`, a backslash outside quotes escapes the next character.
pub fn split_words(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err(format!("unterminated ' in {s:?}")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => cur.push(c),
                            Some(c) => {
                                cur.push('\\');
                                cur.push(c);
                            }
                            None => return Err(format!("unterminated \" in {s:?}")),
                        },
                        Some(c) => cur.push(c),
                        None => return Err(format!("unterminated \" in {s:?}")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(c) => cur.push(c),
                    None => return Err(format!("trailing backslash in {s:?}")),
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// Quotes `s` for a POSIX shell (what ssh hands the remote command to).
pub fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_@%+=:,./-".contains(&b));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        assert_eq!(
            split_words("ssh -p 2222 -i '/tmp/my key' -o \"A=b c\" x\\ y").unwrap(),
            [
                "ssh",
                "-p",
                "2222",
                "-i",
                "/tmp/my key",
                "-o",
                "A=b c",
                "x y"
            ]
        );
        assert_eq!(split_words("  ").unwrap(), Vec::<String>::new());
        assert_eq!(split_words("''").unwrap(), [""]);
        assert_eq!(split_words(r#""a\"b\n""#).unwrap(), ["a\"b\\n"]);
        assert!(split_words("'open").is_err());
        assert!(split_words("\"open").is_err());
        assert!(split_words("x\\").is_err());
    }

    #[test]
    fn quoting_roundtrips_through_split() {
        for s in [
            "plain",
            "/a/b-c_d.e",
            "",
            "two words",
            "it's",
            "$HOME",
            "a\"b",
            "*",
        ] {
            let q = shell_quote(s);
            assert_eq!(split_words(&q).unwrap(), [s], "{q}");
        }
        assert_eq!(shell_quote("/usr/bin/rsmrun"), "/usr/bin/rsmrun");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }

    #[test]
    fn exit_descriptions() {
        assert_eq!(Exit::Code { code: 3 }.status(), 3);
        assert!(!Exit::Code { code: 0 }.failed());
        let k = Exit::Signal {
            signal: 9,
            core_dumped: false,
        };
        assert_eq!(k.status(), 137);
        assert_eq!(k.describe(), "was killed by signal 9 (SIGKILL)");
        let s = Exit::Signal {
            signal: 11,
            core_dumped: true,
        };
        assert_eq!(
            s.describe(),
            "was killed by signal 11 (SIGSEGV), core dumped"
        );
        assert_eq!(signal_name(200), "SIG200");
    }

    #[test]
    fn frames_roundtrip() {
        let frames = vec![
            Up::Output {
                rank: 3,
                stream: Stream::Stderr,
                data: Bytes(b"x\ny\xff".to_vec()),
            },
            Up::Exited {
                rank: 1,
                exit: Exit::Signal {
                    signal: 15,
                    core_dumped: false,
                },
            },
            Up::KvsClosed {
                conn: 7,
                reason: None,
            },
        ];
        for f in frames {
            let line = wire::encode_line(&f);
            assert!(line.ends_with('\n') && !line[..line.len() - 1].contains('\n'));
            let back: Up = serde_json::from_str(line.trim_end()).unwrap();
            assert_eq!(back, f);
        }
        let d = Down::KvsReply {
            conn: 2,
            response: Response::Ok,
        };
        let back: Down = serde_json::from_str(wire::encode_line(&d).trim_end()).unwrap();
        assert_eq!(back, d);
    }
}

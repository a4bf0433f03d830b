//! The key-value protocol spoken between a rank ([`super::Bootstrap`]) and the key-value
//! service inside `rsmrun`. Both sides use these definitions.
//!
//! Transport: a TCP stream carrying newline-delimited JSON, one [`Request`] per line from the
//! client and exactly one [`Response`] line back for each request, in order. Byte values are
//! base64 strings ([`Bytes`]). The first request on every connection must be
//! [`Request::Hello`] with [`PROTOCOL_VERSION`], the job secret and the rank; a wrong version or
//! secret is answered with [`Response::Error`] and the connection is closed.
//! `docs/bootstrap.md` describes the protocol for people writing other clients or servers.

use std::fmt;
use std::io::{self, BufRead};

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Version carried in every hello. Bump it on any incompatible change of the messages.
pub const PROTOCOL_VERSION: u32 = 1;
/// Longest key, in bytes.
pub const MAX_KEY_LEN: usize = 1024;
/// Largest value for `put` and `allgather`, in bytes (before base64).
pub const MAX_VALUE_LEN: usize = 64 * 1024;
/// Longest request line, in bytes, including the newline. Anything longer is refused.
pub const MAX_REQUEST_LINE: usize = 128 * 1024;
/// Longest response line, in bytes, including the newline (an allgather reply is the largest).
pub const MAX_RESPONSE_LINE: usize = 64 * 1024 * 1024;
/// Largest total of all values in one allgather, in bytes (before base64).
pub const MAX_GATHER_TOTAL: usize = 32 * 1024 * 1024;
/// Longest abort message, in bytes.
pub const MAX_MESSAGE_LEN: usize = 4096;

/// Bytes carried as a base64 string (RFC 4648, standard alphabet, with padding).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Bytes(pub Vec<u8>);

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bytes({} bytes)", self.0.len())
    }
}

impl From<&[u8]> for Bytes {
    fn from(b: &[u8]) -> Self {
        Bytes(b.to_vec())
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64_encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Bytes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a base64 string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Bytes, E> {
                base64_decode(v).map(Bytes).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

/// A message from a client (a rank) to the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// First message of every connection.
    Hello {
        /// [`PROTOCOL_VERSION`] of the client.
        version: u32,
        /// The job secret (`RSM_JOB_SECRET`).
        secret: String,
        /// The client's rank (`RSM_RANK`).
        rank: u32,
        /// The client's process id, for log lines (0 when unknown).
        #[serde(default)]
        pid: u32,
    },
    /// Store `value` under `key` (replacing an earlier value). Answer: `ok`.
    Put {
        /// At most [`MAX_KEY_LEN`] bytes, not empty.
        key: String,
        /// At most [`MAX_VALUE_LEN`] bytes.
        value: Bytes,
    },
    /// Fetch the value of `key`, waiting until some rank has put it. Answer: `value`.
    Get {
        /// The key.
        key: String,
    },
    /// Barrier across the job: answered with `ok` once every rank has entered this fence.
    /// Puts acknowledged before a rank's fence are visible to every get after the fence.
    Fence,
    /// Contribute `value`; answered with `gathered` (all ranks' values in rank order) once
    /// every rank has contributed to this allgather.
    Allgather {
        /// At most [`MAX_VALUE_LEN`] bytes.
        value: Bytes,
    },
    /// Ask the launcher to kill the whole job and exit with `code`. Answer: `ok`.
    Abort {
        /// Exit code for the launcher.
        code: i32,
        /// Why (at most [`MAX_MESSAGE_LEN`] bytes), printed by the launcher.
        message: String,
    },
}

/// What kind of failure a [`Response::Error`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Wrong or missing job secret, or a request before the hello.
    Auth,
    /// Protocol version mismatch.
    Version,
    /// Malformed or invalid request (bad JSON, bad key, rank out of range, ...).
    BadRequest,
    /// A key, value, line or gathered total over the limits above.
    TooLarge,
    /// A collective can never complete because a rank exited before joining it.
    RankExited,
    /// Ranks called different collectives at the same position (fence vs allgather).
    Mismatch,
    /// The job is being torn down.
    Aborted,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::Auth => "authentication failed",
            ErrorKind::Version => "protocol version mismatch",
            ErrorKind::BadRequest => "bad request",
            ErrorKind::TooLarge => "too large",
            ErrorKind::RankExited => "a rank exited",
            ErrorKind::Mismatch => "collective mismatch",
            ErrorKind::Aborted => "job aborted",
        })
    }
}

/// A message from the service to a client, one per request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Response {
    /// Answer to a good hello.
    Welcome {
        /// [`PROTOCOL_VERSION`] of the server.
        version: u32,
        /// Number of ranks in the job.
        size: u32,
        /// The job id (`RSM_JOB_ID`).
        job_id: String,
    },
    /// Answer to put, fence and abort.
    Ok,
    /// Answer to get.
    Value {
        /// The stored bytes.
        value: Bytes,
    },
    /// Answer to allgather: one value per rank, in rank order.
    Gathered {
        /// `values[r]` is rank `r`'s contribution.
        values: Vec<Bytes>,
    },
    /// The request failed. After an `auth` or `version` error the server closes the
    /// connection.
    Error {
        /// Failure class.
        kind: ErrorKind,
        /// Human-readable explanation.
        message: String,
    },
}

/// Serializes `msg` as one JSON line (with the trailing newline).
pub fn encode_line<T: Serialize>(msg: &T) -> String {
    // Serializing these plain enums into a String cannot fail (no maps with non-string keys,
    // no custom serializers that error); fall back to an empty object rather than panic.
    let mut s = serde_json::to_string(msg).unwrap_or_else(|_| String::from("{}"));
    s.push('\n');
    s
}

/// Why [`read_line_bounded`] did not return a line.
#[derive(Debug)]
pub enum LineError {
    /// The line is longer than the allowed maximum (the stream can no longer be trusted).
    TooLong {
        /// The limit that was exceeded.
        max: usize,
    },
    /// The line is not valid UTF-8.
    NotUtf8,
    /// The stream ended in the middle of a line.
    Truncated,
    /// The underlying read failed (including read timeouts: `WouldBlock` / `TimedOut`).
    Io(io::Error),
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineError::TooLong { max } => write!(f, "line longer than {max} bytes"),
            LineError::NotUtf8 => f.write_str("line is not valid UTF-8"),
            LineError::Truncated => f.write_str("stream ended in the middle of a line"),
            LineError::Io(e) => write!(f, "read failed: {e}"),
        }
    }
}

impl std::error::Error for LineError {}

/// Reads one `\n`-terminated line of at most `max` bytes (newline included) and returns it
/// without the newline. `Ok(None)` means a clean end of stream before any byte of a new line.
pub fn read_line_bounded<R: BufRead>(r: &mut R, max: usize) -> Result<Option<String>, LineError> {
    let mut line: Vec<u8> = Vec::new();
    loop {
        let available = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(LineError::Io(e)),
        };
        if available.is_empty() {
            return if line.is_empty() {
                Ok(None)
            } else {
                Err(LineError::Truncated)
            };
        }
        let (chunk_len, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        if line.len() + chunk_len > max {
            return Err(LineError::TooLong { max });
        }
        line.extend_from_slice(&available[..chunk_len]);
        r.consume(chunk_len);
        if done {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return String::from_utf8(line)
                .map(Some)
                .map_err(|_| LineError::NotUtf8);
        }
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (RFC 4648 §4).
pub fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let idx = [(n >> 18) & 63, (n >> 12) & 63, (n >> 6) & 63, n & 63];
        for (i, &x) in idx.iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(B64[x as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes [`base64_encode`]'s output; rejects bad characters, bad length and bad padding.
pub fn base64_decode(s: &str) -> Result<Vec<u8>, String> {
    fn val(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let bytes = s.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return Err(format!(
            "base64 length {} is not a multiple of 4",
            bytes.len()
        ));
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    let quads = bytes.len() / 4;
    for (qi, q) in bytes.chunks(4).enumerate() {
        let last = qi + 1 == quads;
        let pad = q.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return Err("misplaced base64 padding".to_string());
        }
        let mut n: u32 = 0;
        for &c in &q[..4 - pad] {
            let v =
                val(c).ok_or_else(|| format!("invalid base64 character {:?}", char::from(c)))?;
            n = (n << 6) | v;
        }
        n <<= 6 * pad as u32;
        let three = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        // Non-canonical encodings (stray bits in the last character) are rejected.
        if (pad == 1 && three[2] != 0) || (pad == 2 && (three[1] != 0 || three[2] != 0)) {
            return Err("non-canonical base64 padding bits".to_string());
        }
        out.extend_from_slice(&three[..3 - pad]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn base64_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, enc) in cases {
            assert_eq!(base64_encode(plain.as_bytes()), enc);
            assert_eq!(base64_decode(enc).unwrap(), plain.as_bytes());
        }
    }

    #[test]
    fn base64_roundtrips_every_byte_value() {
        for len in 0..=260usize {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            assert_eq!(base64_decode(&base64_encode(&data)).unwrap(), data);
        }
    }

    #[test]
    fn base64_rejects_garbage() {
        assert!(base64_decode("Zg=").is_err());
        assert!(base64_decode("Z===").is_err());
        assert!(base64_decode("Zg==Zg==").is_err());
        assert!(base64_decode("Zh==").is_err()); // non-canonical
        assert!(base64_decode("Zm9*").is_err());
        assert!(base64_decode("Zm 9").is_err());
    }

    #[test]
    fn request_json_shape_is_stable() {
        let put = Request::Put {
            key: "seg/3".into(),
            value: Bytes(b"foo".to_vec()),
        };
        assert_eq!(
            encode_line(&put),
            "{\"op\":\"put\",\"key\":\"seg/3\",\"value\":\"Zm9v\"}\n"
        );
        assert_eq!(encode_line(&Request::Fence), "{\"op\":\"fence\"}\n");
        let hello: Request = serde_json::from_str(
            r#"{"op":"hello","version":1,"secret":"s","rank":2,"extra":true}"#,
        )
        .unwrap();
        assert_eq!(
            hello,
            Request::Hello {
                version: 1,
                secret: "s".into(),
                rank: 2,
                pid: 0
            }
        );
        let err = Response::Error {
            kind: ErrorKind::RankExited,
            message: "m".into(),
        };
        assert_eq!(
            encode_line(&err),
            "{\"status\":\"error\",\"kind\":\"rank_exited\",\"message\":\"m\"}\n"
        );
        let back: Response = serde_json::from_str(encode_line(&err).trim_end()).unwrap();
        assert_eq!(back, err);
    }

    #[test]
    fn bad_base64_in_message_is_a_parse_error() {
        let r: Result<Request, _> = serde_json::from_str(r#"{"op":"put","key":"k","value":"@@"}"#);
        assert!(r.is_err());
    }

    #[test]
    fn bounded_lines() {
        let mut c = Cursor::new(b"abc\r\ndef\n\nxyz".to_vec());
        assert_eq!(
            read_line_bounded(&mut c, 16).unwrap().as_deref(),
            Some("abc")
        );
        assert_eq!(
            read_line_bounded(&mut c, 16).unwrap().as_deref(),
            Some("def")
        );
        assert_eq!(read_line_bounded(&mut c, 16).unwrap().as_deref(), Some(""));
        assert!(matches!(
            read_line_bounded(&mut c, 16),
            Err(LineError::Truncated)
        ));

        let mut c = Cursor::new(b"0123456789\n".to_vec());
        assert!(matches!(
            read_line_bounded(&mut c, 10),
            Err(LineError::TooLong { max: 10 })
        ));
        let mut c = Cursor::new(b"0123456789\n".to_vec());
        assert_eq!(
            read_line_bounded(&mut c, 11).unwrap().as_deref(),
            Some("0123456789")
        );
        let mut c = Cursor::new(b"\xff\xfe\n".to_vec());
        assert!(matches!(
            read_line_bounded(&mut c, 11),
            Err(LineError::NotUtf8)
        ));
        let mut c = Cursor::new(Vec::new());
        assert!(read_line_bounded(&mut c, 11).unwrap().is_none());
    }
}

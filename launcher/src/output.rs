//! Where the ranks' output goes: straight through, tagged with `[rank]` per line, or into one
//! file per rank.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::proto::Stream;

/// Longest partial line kept while tagging; longer runs are emitted as a line of their own.
const MAX_PARTIAL: usize = 64 * 1024;

/// Output mode.
#[derive(Debug)]
pub enum Mode {
    /// Pass bytes through as they arrive.
    Plain,
    /// Prefix each line with `[rank] `.
    Tagged,
    /// Write each rank's stdout and stderr to `DIR/rank.N.log`.
    Files(PathBuf),
}

/// File name of `rank`'s output in `--output-dir`.
pub fn rank_file(dir: &Path, rank: u32) -> PathBuf {
    dir.join(format!("rank.{rank}.log"))
}

/// The sink for all ranks' output.
pub struct Sink<O: Write, E: Write> {
    mode: Mode,
    out: O,
    err: E,
    partial: HashMap<(u32, Stream), Vec<u8>>,
    files: HashMap<u32, File>,
}

impl<O: Write, E: Write> std::fmt::Debug for Sink<O, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink").field("mode", &self.mode).finish()
    }
}

impl<O: Write, E: Write> Sink<O, E> {
    /// A sink writing to `out`/`err` (for `Files`, creating the directory and one empty file
    /// per rank now, so a bad directory is reported before anything starts).
    pub fn new(mode: Mode, ranks: u32, out: O, err: E) -> io::Result<Self> {
        let mut files = HashMap::new();
        if let Mode::Files(dir) = &mode {
            std::fs::create_dir_all(dir)?;
            for r in 0..ranks {
                files.insert(r, File::create(rank_file(dir, r))?);
            }
        }
        Ok(Sink {
            mode,
            out,
            err,
            partial: HashMap::new(),
            files,
        })
    }

    fn stream(&mut self, s: Stream) -> &mut dyn Write {
        match s {
            Stream::Stdout => &mut self.out,
            Stream::Stderr => &mut self.err,
        }
    }

    /// Output `data` of `rank`'s `stream`. Write errors (a closed terminal or pipe) are
    /// ignored: the job goes on.
    pub fn write(&mut self, rank: u32, stream: Stream, data: &[u8]) {
        if let Mode::Plain = self.mode {
            let w = self.stream(stream);
            let _ = w.write_all(data).and_then(|()| w.flush());
            return;
        }
        // Tagged and file output go line by line, so that stdout and stderr lines (and, when
        // tagging, different ranks' lines) never mix within a line.
        let mut buf = self.partial.remove(&(rank, stream)).unwrap_or_default();
        buf.extend_from_slice(data);
        let mut start = 0;
        let mut lines: Vec<&[u8]> = Vec::new();
        while let Some(nl) = buf[start..].iter().position(|&b| b == b'\n') {
            lines.push(&buf[start..start + nl]);
            start += nl + 1;
        }
        let long_rest = buf.len() - start > MAX_PARTIAL;
        if long_rest {
            lines.push(&buf[start..]);
        }
        let text = self.render(rank, &lines);
        self.emit(rank, stream, &text);
        if !long_rest && start < buf.len() {
            let rest = buf.split_off(start);
            self.partial.insert((rank, stream), rest);
        }
    }

    fn render(&self, rank: u32, lines: &[&[u8]]) -> Vec<u8> {
        let mut text = Vec::new();
        for line in lines {
            if let Mode::Tagged = self.mode {
                text.extend_from_slice(format!("[{rank}] ").as_bytes());
            }
            text.extend_from_slice(line);
            text.push(b'\n');
        }
        text
    }

    fn emit(&mut self, rank: u32, stream: Stream, text: &[u8]) {
        if text.is_empty() {
            return;
        }
        if let Mode::Files(_) = self.mode {
            if let Some(f) = self.files.get_mut(&rank) {
                let _ = f.write_all(text);
            }
        } else {
            let w = self.stream(stream);
            let _ = w.write_all(text).and_then(|()| w.flush());
        }
    }

    /// `rank` ended: emit its unterminated last lines (with a newline added).
    pub fn finish_rank(&mut self, rank: u32) {
        for stream in [Stream::Stdout, Stream::Stderr] {
            if let Some(rest) = self.partial.remove(&(rank, stream)) {
                let text = self.render(rank, &[&rest]);
                self.emit(rank, stream, &text);
            }
        }
        if let Some(f) = self.files.get_mut(&rank) {
            let _ = f.flush();
        }
    }

    /// Emits everything still buffered.
    pub fn finish(&mut self) {
        let ranks: Vec<u32> = self.partial.keys().map(|(r, _)| *r).collect();
        for r in ranks {
            self.finish_rank(r);
        }
        let _ = self.out.flush();
        let _ = self.err.flush();
    }

    /// The writers, for tests.
    pub fn into_inner(self) -> (O, E) {
        (self.out, self.err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_passes_bytes_through() {
        let mut s = Sink::new(Mode::Plain, 2, Vec::new(), Vec::new()).unwrap();
        s.write(0, Stream::Stdout, b"a");
        s.write(1, Stream::Stdout, b"b\n");
        s.write(1, Stream::Stderr, b"e");
        s.finish();
        let (o, e) = s.into_inner();
        assert_eq!(o, b"ab\n");
        assert_eq!(e, b"e");
    }

    #[test]
    fn tagged_lines_are_never_mixed() {
        let mut s = Sink::new(Mode::Tagged, 2, Vec::new(), Vec::new()).unwrap();
        s.write(0, Stream::Stdout, b"hel");
        s.write(1, Stream::Stdout, b"one\ntw");
        s.write(0, Stream::Stdout, b"lo\nworld\n");
        s.write(1, Stream::Stderr, b"oops\n");
        s.write(1, Stream::Stdout, b"o");
        s.finish_rank(1);
        s.write(0, Stream::Stdout, b"tail");
        s.finish();
        let (o, e) = s.into_inner();
        assert_eq!(
            String::from_utf8(o).unwrap(),
            "[1] one\n[0] hello\n[0] world\n[1] two\n[0] tail\n"
        );
        assert_eq!(String::from_utf8(e).unwrap(), "[1] oops\n");
    }

    #[test]
    fn tagged_very_long_lines_are_cut() {
        let mut s = Sink::new(Mode::Tagged, 1, Vec::new(), Vec::new()).unwrap();
        s.write(0, Stream::Stdout, &vec![b'x'; MAX_PARTIAL + 1]);
        let (o, _) = s.into_inner();
        assert_eq!(o.len(), MAX_PARTIAL + 1 + 5);
        assert!(o.starts_with(b"[0] xx"));
    }

    #[test]
    fn files_per_rank() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("out");
        let mut s = Sink::new(Mode::Files(sub.clone()), 3, Vec::new(), Vec::new()).unwrap();
        s.write(0, Stream::Stdout, b"zero\n");
        s.write(2, Stream::Stderr, b"two ");
        s.write(2, Stream::Stdout, b"two out\n");
        s.write(2, Stream::Stderr, b"err\nlast");
        s.finish();
        let (o, e) = s.into_inner();
        assert!(o.is_empty() && e.is_empty());
        let read = |r| std::fs::read_to_string(rank_file(&sub, r)).unwrap();
        assert_eq!(read(0), "zero\n");
        assert_eq!(read(1), "");
        assert_eq!(read(2), "two out\ntwo err\nlast\n");
    }

    #[test]
    fn bad_output_dir_is_an_error() {
        let f = tempfile::NamedTempFile::new().unwrap();
        let bad = f.path().join("sub");
        assert!(Sink::new(Mode::Files(bad), 1, Vec::new(), Vec::new()).is_err());
    }
}

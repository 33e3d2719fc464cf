//! Reading a child's output line by line, each line bounded in size.

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// Appended to a line that was cut at the byte limit.
pub(crate) const CUT_MARKER: &str = "…";

/// One line of output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Line {
    /// The line without its `\n` (or `\r\n`), invalid UTF-8 replaced by
    /// U+FFFD, and [`CUT_MARKER`] appended when it was cut.
    pub text: String,
    /// Whether the line was longer than the limit and cut.
    pub cut: bool,
}

/// Reads lines, keeping at most `limit` bytes of each: the rest of a longer
/// line is read and dropped, so a program printing megabytes without a
/// newline cannot exhaust the worker's memory.
pub(crate) struct BoundedLines<R> {
    reader: R,
    limit: usize,
}

impl<R: AsyncBufRead + Unpin> BoundedLines<R> {
    /// Lines from `reader`, each cut after `limit` bytes.
    pub(crate) fn new(reader: R, limit: usize) -> Self {
        BoundedLines { reader, limit }
    }

    /// The next line, or `None` once the stream has ended. A last line
    /// without a newline is still a line.
    pub(crate) async fn next_line(&mut self) -> std::io::Result<Option<Line>> {
        let mut bytes = Vec::new();
        let mut cut = false;
        let mut read_any = false;
        loop {
            let available = self.reader.fill_buf().await?;
            if available.is_empty() {
                break;
            }
            read_any = true;
            let newline = available.iter().position(|&b| b == b'\n');
            let content = &available[..newline.unwrap_or(available.len())];
            let room = self.limit.saturating_sub(bytes.len());
            if content.len() > room {
                cut = true;
            }
            bytes.extend_from_slice(&content[..content.len().min(room)]);
            let used = newline.map_or(available.len(), |i| i + 1);
            self.reader.consume(used);
            if newline.is_some() {
                break;
            }
        }
        if !read_any {
            return Ok(None);
        }
        if !cut && bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        if cut {
            drop_partial_char(&mut bytes);
        }
        let mut text = String::from_utf8_lossy(&bytes).into_owned();
        if cut {
            text.push_str(CUT_MARKER);
        }
        Ok(Some(Line { text, cut }))
    }
}

/// Drops a UTF-8 sequence left incomplete at the end by the cut, so it
/// does not show up as a replacement character.
fn drop_partial_char(bytes: &mut Vec<u8>) {
    let start = bytes.len().saturating_sub(3);
    if let Err(e) = std::str::from_utf8(&bytes[start..]) {
        if e.error_len().is_none() {
            bytes.truncate(start + e.valid_up_to());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read_all(input: &[u8], limit: usize) -> Vec<Line> {
        let mut lines = BoundedLines::new(input, limit);
        let mut all = Vec::new();
        while let Some(line) = lines.next_line().await.unwrap() {
            all.push(line);
        }
        all
    }

    fn texts(lines: &[Line]) -> Vec<&str> {
        lines.iter().map(|l| l.text.as_str()).collect()
    }

    #[tokio::test]
    async fn splits_lines_and_strips_line_endings() {
        let lines = read_all(b"one\r\n\ntwo\nlast without newline", 100).await;
        assert_eq!(texts(&lines), ["one", "", "two", "last without newline"]);
        assert!(lines.iter().all(|l| !l.cut));
        assert!(read_all(b"", 100).await.is_empty());
    }

    #[tokio::test]
    async fn replaces_invalid_utf8() {
        let lines = read_all(b"ok \xff\xfe ok\n", 100).await;
        assert_eq!(texts(&lines), ["ok \u{fffd}\u{fffd} ok"]);
    }

    #[tokio::test]
    async fn cuts_long_lines_and_reads_on_after_them() {
        let mut input = vec![b'x'; 5000];
        input.extend_from_slice(b"\nnext\n");
        let lines = read_all(&input, 1000).await;
        assert_eq!(lines.len(), 2);
        assert!(lines[0].cut);
        assert_eq!(lines[0].text, format!("{}{CUT_MARKER}", "x".repeat(1000)));
        assert_eq!(lines[1].text, "next");
    }

    #[tokio::test]
    async fn a_cut_never_splits_a_character() {
        // "é" is two bytes; a limit of 5 falls inside the third one.
        let lines = read_all("ééé\n".as_bytes(), 5).await;
        assert_eq!(lines[0].text, format!("éé{CUT_MARKER}"));
    }
}

//! Compressed text inputs: gzip, zstd and bzip2. A text input is recognised by its first
//! bytes (the formats' magic numbers), whatever it is called, so `rows.jsonl.gz`, a `.gz`
//! read with an explicit format, and compressed standard input are all read decompressed;
//! the extension only tells the format under it (`rows.jsonl.gz` is JSON Lines).

use std::io::Read;

/// A compression a text input can come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// gzip (`.gz`), also several members one after another (`cat a.gz b.gz`).
    Gzip,
    /// Zstandard (`.zst`), also several frames.
    Zstd,
    /// bzip2 (`.bz2`), also several streams.
    Bzip2,
}

/// The longest magic number looked for.
const HEAD: usize = 10;

impl Compression {
    /// The compression a file extension names (`gz`, `zst`, `bz2`), if any.
    pub fn from_extension(extension: &str) -> Option<Compression> {
        match extension.to_ascii_lowercase().as_str() {
            "gz" | "gzip" => Some(Compression::Gzip),
            "zst" | "zstd" => Some(Compression::Zstd),
            "bz2" => Some(Compression::Bzip2),
            _ => None,
        }
    }

    /// The compression whose magic number starts `head` (at least its first 10 bytes).
    pub fn sniff(head: &[u8]) -> Option<Compression> {
        if head.starts_with(&[0x1f, 0x8b]) {
            return Some(Compression::Gzip);
        }
        if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            return Some(Compression::Zstd);
        }
        // "BZh", the block size digit, then a block's magic (π) or the end of stream (√π):
        // ten bytes, so a CSV header that happens to start with "BZh" is not taken for one.
        let bzip2 = head.len() >= HEAD
            && head.starts_with(b"BZh")
            && (b'1'..=b'9').contains(&head[3])
            && matches!(
                &head[4..HEAD],
                [0x31, 0x41, 0x59, 0x26, 0x53, 0x59] | [0x17, 0x72, 0x45, 0x38, 0x50, 0x90]
            );
        bzip2.then_some(Compression::Bzip2)
    }

    /// The compression's name.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Bzip2 => "bzip2",
        }
    }
}

/// `raw` decompressed if its first bytes are a compression's magic number, else as it is;
/// with the compression found.
pub(crate) fn decompressed(
    mut raw: Box<dyn Read + Send>,
) -> std::io::Result<(Box<dyn Read + Send>, Option<Compression>)> {
    let mut head = Vec::with_capacity(HEAD);
    (&mut raw).take(HEAD as u64).read_to_end(&mut head)?;
    let compression = Compression::sniff(&head);
    let whole = Prefixed {
        head,
        at: 0,
        inner: raw,
    };
    let reader: Box<dyn Read + Send> = match compression {
        None => Box::new(whole),
        Some(Compression::Gzip) => Box::new(flate2::read::MultiGzDecoder::new(whole)),
        Some(Compression::Zstd) => Box::new(zstd::stream::read::Decoder::new(whole)?),
        Some(Compression::Bzip2) => Box::new(bzip2::read::MultiBzDecoder::new(whole)),
    };
    Ok((reader, compression))
}

/// `head` then `inner`. Unlike `Cursor::chain`, the read that returns the end of `head` also
/// fills the rest of the caller's buffer from `inner`, so a buffered reader's first fill
/// holds more than the few bytes looked at (the CSV reader tells CRLF files by it).
struct Prefixed<R> {
    head: Vec<u8>,
    at: usize,
    inner: R,
}

impl<R: Read> Read for Prefixed<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at >= self.head.len() {
            return self.inner.read(buf);
        }
        let n = (self.head.len() - self.at).min(buf.len());
        buf[..n].copy_from_slice(&self.head[self.at..self.at + n]);
        self.at += n;
        if n == buf.len() {
            return Ok(n);
        }
        // An error here comes back on the next read, after these bytes.
        Ok(n + self.inner.read(&mut buf[n..]).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    use std::io::Cursor;

    fn read_all(bytes: Vec<u8>) -> Vec<u8> {
        let mut out = Vec::new();
        decompressed(Box::new(Cursor::new(bytes)))
            .unwrap()
            .0
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn every_compression_is_recognised_by_its_bytes_and_plain_text_passes() {
        let text = b"{\"id\": 1}\n{\"id\": 2}\n".repeat(100);
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gzip.write_all(&text).unwrap();
        let zstd = zstd::encode_all(&text[..], 3).unwrap();
        let mut bzip2 = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
        bzip2.write_all(&text).unwrap();
        for (name, bytes) in [
            ("gzip", gzip.finish().unwrap()),
            ("zstd", zstd),
            ("bzip2", bzip2.finish().unwrap()),
        ] {
            assert_eq!(
                Compression::sniff(&bytes).map(Compression::name),
                Some(name)
            );
            assert_eq!(read_all(bytes), text, "{name}");
        }
        assert_eq!(Compression::sniff(&text), None);
        assert_eq!(read_all(text.clone()), text);
        // Shorter than any magic number, and a header that starts like bzip2's.
        assert_eq!(read_all(b"a\n".to_vec()), b"a\n");
        assert_eq!(Compression::sniff(b"BZh9,a,b\n1,2,3\n"), None);
    }
}

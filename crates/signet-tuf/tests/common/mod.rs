//! In-memory fetcher and store shared by the integration tests.

#![allow(dead_code)]

use std::collections::BTreeMap;

use signet_tuf::{FetchError, Fetcher, MetadataStore, StoreError};

/// A repository in memory: URL → bytes. Records every request (URL, max_len). A file longer
/// than max_len is answered as an HTTP client that stops reading would: TooLong.
#[derive(Debug, Default, Clone)]
pub struct MemFetcher {
    pub files: BTreeMap<String, Vec<u8>>,
    pub requests: Vec<(String, u64)>,
}

impl MemFetcher {
    /// Serves `files` (paths relative to `base`) under `base`.
    pub fn serving(base: &str, files: impl IntoIterator<Item = (String, Vec<u8>)>) -> Self {
        MemFetcher {
            files: files
                .into_iter()
                .map(|(p, b)| (format!("{base}{p}"), b))
                .collect(),
            requests: Vec::new(),
        }
    }

    pub fn put(&mut self, url: &str, bytes: Vec<u8>) {
        self.files.insert(url.to_string(), bytes);
    }

    pub fn requested(&self) -> Vec<&str> {
        self.requests.iter().map(|(u, _)| u.as_str()).collect()
    }
}

impl Fetcher for MemFetcher {
    fn fetch(&mut self, url: &str, max_len: u64) -> Result<Option<Vec<u8>>, FetchError> {
        self.requests.push((url.to_string(), max_len));
        match self.files.get(url) {
            None => Ok(None),
            Some(bytes) if bytes.len() as u64 > max_len => Err(FetchError::TooLong {
                url: url.to_string(),
                max_len,
            }),
            Some(bytes) => Ok(Some(bytes.clone())),
        }
    }
}

/// A store in memory, with a log of operations.
#[derive(Debug, Default, Clone)]
pub struct MemStore {
    pub files: BTreeMap<String, Vec<u8>>,
    pub log: Vec<String>,
}

impl MetadataStore for MemStore {
    fn persist(&mut self, file: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.log.push(format!("persist {file}"));
        self.files.insert(file.to_string(), bytes.to_vec());
        Ok(())
    }

    fn remove(&mut self, file: &str) -> Result<(), StoreError> {
        self.log.push(format!("remove {file}"));
        self.files.remove(file);
        Ok(())
    }
}

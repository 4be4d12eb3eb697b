//! Integration tests of sipaccord-capture: the shared corpus, generated flows, truncated files.

mod corpus;
mod differential;
mod distinct;
mod flows;
mod lend;
mod links;
mod pcap;
mod truncated;

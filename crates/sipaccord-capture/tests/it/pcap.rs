//! Building packets and pcap files in tests.

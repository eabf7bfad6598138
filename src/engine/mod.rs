//! The engine: runs a planned job instance over hosts in staged batches and
//! reports everything it does as `Event`s. It owns no terminal and no
//! database; the TUI, the headless reporter and the journal writer all
//! consume the same events.

pub mod events;

//! The parts every view would otherwise write again. Each keeps its state
//! (if any) apart from its drawing, and draws from `&self`.
//!
//! - `text_box`: a one-line text box and its editing keys.
//! - `command_box`: the `:` box and the session's command history.
//! - `dialog`: the shared modal question, answered with the keymap's keys.
//! - `clip`: text cut with an ellipsis, or wrapped between words.
//! - `durations`: elapsed times, countdowns, timeline and local clocks.
//! - `status_look`: one glyph and colour per run and host status.
//! - `form`: label / value / problem rows, scrolled to the focus.
//! - `load_state`: loading / missing / failed / ready, and the note in place of rows.
//! - `editor`, `highlight`: the text editor and its shell/YAML colours.
//! - `panel`: a bordered, titled panel.
//! - `param_fields`: a flow's typed params as form fields (Planner, schedule form).
//! - `scroll_list`: a list's cursor and window, kept in view.

pub mod clip;
pub mod command_box;
pub mod dialog;
pub mod durations;
pub mod editor;
pub mod form;
pub mod highlight;
pub mod load_state;
pub mod panel;
pub mod param_fields;
pub mod scroll_list;
pub mod status_look;
pub mod text_box;

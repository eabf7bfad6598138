//! Everything the user can ask the console to do, as one enum. Keys, mouse
//! events and views all produce `Action`s; views answer with follow-up
//! actions, so a keypress and a test that calls `App::dispatch` take the
//! same path.

/// The console's views, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ViewId {
    Inventory,
    Flows,
    Planner,
    Run,
    History,
    Schedules,
}

impl ViewId {
    pub const ALL: [ViewId; 6] = [
        ViewId::Inventory,
        ViewId::Flows,
        ViewId::Planner,
        ViewId::Run,
        ViewId::History,
        ViewId::Schedules,
    ];

    pub fn title(self) -> &'static str {
        match self {
            ViewId::Inventory => "Inventory",
            ViewId::Flows => "Flows",
            ViewId::Planner => "Planner",
            ViewId::Run => "Run",
            ViewId::History => "History",
            ViewId::Schedules => "Schedules",
        }
    }

    pub fn index(self) -> usize {
        ViewId::ALL.iter().position(|&v| v == self).unwrap_or(0)
    }

    pub fn next(self) -> ViewId {
        ViewId::ALL[(self.index() + 1) % ViewId::ALL.len()]
    }

    pub fn prev(self) -> ViewId {
        ViewId::ALL[(self.index() + ViewId::ALL.len() - 1) % ViewId::ALL.len()]
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    // Application
    Quit,
    Suspend,
    Help,
    ShowView(ViewId),
    NextView,
    PrevView,
    FocusNext,
    // Movement, shared by every list-like pane
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    // Inventory tree
    Expand,
    Collapse,
    ToggleExpand,
    ExpandAll,
    CollapseAll,
    ToggleSelect,
    SelectAll,
    ClearSelection,
    Filter,
    Pattern,
    ToggleDetail,
    // Text input (filter and pattern boxes)
    Submit,
    Cancel,
    Backspace,
    ClearInput,
    // History, Flows and Schedules views (tuihist)
    PlayPause,
    CycleSpeed,
    SeekBack,
    SeekForward,
    SeekStart,
    SeekEnd,
    RerunFailed,
    ResumeRun,
    CycleStatus,
    CycleDate,
    Refresh,
    NewItem,
    Edit,
    EditText,
    AddStep,
    DeleteItem,
    MoveUp,
    MoveDown,
    Save,
    Validate,
    // Planner form
    PrevChoice,
    NextChoice,
    StartRun,
    // Run view and its dialogs
    Confirm,
    AbortRun,
    Detach,
    TogglePause,
    RetryFailed,
    SkipHost,
    ToggleFollow,
    /// The output pane shows columns further left or right.
    ScrollLeft,
    ScrollRight,
    ToggleGather,
    /// The gathered view shows each minority group as a diff against the
    /// majority (or the outputs again).
    GatherDiff,
    /// The gathered view treats more as host specific: timestamps, then
    /// hex ids, then numbers too, then names only again.
    GatherNormalize,
    CycleSplit,
    TogglePin,
    Search,
    SearchBackward,
    SearchNext,
    SearchPrev,
    /// Search everything at once: every host of the run (Run view), every
    /// run's output in the journal (History).
    SearchAll,
    /// Long lines wrap, or the pane scrolls sideways.
    ToggleWrap,
    SaveOutput,
    SaveHosts,
    /// A shell on the host under the cursor (Inventory, Run, History's replay).
    Shell,
    /// The Run view shows the next or previous run of the console's list.
    NextRun,
    PrevRun,
    /// The command box: one command on the selection, as a run.
    CommandBox,
    // Not bindable: produced by the event loop
    /// A key for a view that edits text itself (the embedded editor).
    Key(super::key::Key),
    InsertChar(char),
    Resize(u16, u16),
    ScrollUp {
        column: u16,
        row: u16,
    },
    ScrollDown {
        column: u16,
        row: u16,
    },
    Click {
        column: u16,
        row: u16,
    },
}

/// Bindable actions by the name a keymap file uses, with the help text.
pub const BINDABLE: &[(&str, Action, &str)] = &[
    ("quit", Action::Quit, "quit jobdeck"),
    (
        "suspend",
        Action::Suspend,
        "suspend to the shell (fg resumes)",
    ),
    ("help", Action::Help, "show or hide this help"),
    (
        "view_inventory",
        Action::ShowView(ViewId::Inventory),
        "Inventory view",
    ),
    ("view_flows", Action::ShowView(ViewId::Flows), "Flows view"),
    (
        "view_planner",
        Action::ShowView(ViewId::Planner),
        "Planner view",
    ),
    ("view_run", Action::ShowView(ViewId::Run), "Run view"),
    (
        "view_history",
        Action::ShowView(ViewId::History),
        "History view",
    ),
    (
        "view_schedules",
        Action::ShowView(ViewId::Schedules),
        "Schedules view",
    ),
    ("next_view", Action::NextView, "next view"),
    ("prev_view", Action::PrevView, "previous view"),
    (
        "focus_next",
        Action::FocusNext,
        "move focus to the next pane",
    ),
    ("up", Action::Up, "move up"),
    ("down", Action::Down, "move down"),
    ("page_up", Action::PageUp, "page up"),
    ("page_down", Action::PageDown, "page down"),
    ("top", Action::Top, "go to the top"),
    ("bottom", Action::Bottom, "go to the bottom"),
    ("expand", Action::Expand, "expand a group"),
    (
        "collapse",
        Action::Collapse,
        "collapse a group, or go to its parent",
    ),
    ("toggle_expand", Action::ToggleExpand, "expand or collapse"),
    ("expand_all", Action::ExpandAll, "expand every group"),
    ("collapse_all", Action::CollapseAll, "collapse every group"),
    (
        "toggle_select",
        Action::ToggleSelect,
        "select or unselect a host or a whole group",
    ),
    ("select_all", Action::SelectAll, "select every shown host"),
    (
        "clear_selection",
        Action::ClearSelection,
        "clear the selection",
    ),
    ("filter", Action::Filter, "fuzzy filter hosts and groups"),
    ("pattern", Action::Pattern, "select by Ansible pattern"),
    (
        "toggle_detail",
        Action::ToggleDetail,
        "show or hide the detail pane",
    ),
    ("submit", Action::Submit, "accept"),
    ("cancel", Action::Cancel, "cancel or clear"),
    ("backspace", Action::Backspace, "delete a character"),
    ("clear_input", Action::ClearInput, "clear the input"),
    // History, Flows and Schedules views
    (
        "play_pause",
        Action::PlayPause,
        "play or pause the timeline",
    ),
    (
        "cycle_speed",
        Action::CycleSpeed,
        "playback speed 1x, 10x, 100x",
    ),
    ("seek_back", Action::SeekBack, "seek the timeline back"),
    (
        "seek_forward",
        Action::SeekForward,
        "seek the timeline forward",
    ),
    ("seek_start", Action::SeekStart, "seek to the run's start"),
    ("seek_end", Action::SeekEnd, "seek to the run's end"),
    (
        "rerun_failed",
        Action::RerunFailed,
        "rerun the failed hosts",
    ),
    ("resume_run", Action::ResumeRun, "resume an interrupted run"),
    ("cycle_status", Action::CycleStatus, "filter by status"),
    ("cycle_date", Action::CycleDate, "filter by date"),
    ("refresh", Action::Refresh, "reload"),
    ("new", Action::NewItem, "create a new one"),
    ("edit", Action::Edit, "edit the one under the cursor"),
    ("edit_text", Action::EditText, "edit the text in the editor"),
    ("add_step", Action::AddStep, "add a step (atom picker)"),
    (
        "delete",
        Action::DeleteItem,
        "delete the one under the cursor",
    ),
    ("move_up", Action::MoveUp, "move the step up"),
    ("move_down", Action::MoveDown, "move the step down"),
    ("save", Action::Save, "save"),
    (
        "validate",
        Action::Validate,
        "validate as jobdeck check does",
    ),
    ("prev_choice", Action::PrevChoice, "previous choice"),
    ("next_choice", Action::NextChoice, "next choice"),
    (
        "start_run",
        Action::StartRun,
        "start the run (a summary asks first)",
    ),
    (
        "confirm",
        Action::Confirm,
        "yes; confirm the next batch; approve a step",
    ),
    ("abort", Action::AbortRun, "abort the run (asks first)"),
    (
        "detach",
        Action::Detach,
        "detach: leave the run interrupted and resumable",
    ),
    ("pause", Action::TogglePause, "pause or resume"),
    (
        "retry_failed",
        Action::RetryFailed,
        "run failed hosts again",
    ),
    (
        "skip_host",
        Action::SkipHost,
        "skip the host under the cursor",
    ),
    (
        "scroll_left",
        Action::ScrollLeft,
        "show the output's columns further left",
    ),
    (
        "scroll_right",
        Action::ScrollRight,
        "show the output's columns further right",
    ),
    (
        "follow",
        Action::ToggleFollow,
        "follow the output tail or not",
    ),
    (
        "gather",
        Action::ToggleGather,
        "gathered view: hosts whose output is alike (names aside) as one group",
    ),
    (
        "gather_diff",
        Action::GatherDiff,
        "gathered view: each group that differs as a diff against the majority",
    ),
    (
        "gather_normalize",
        Action::GatherNormalize,
        "gathered view: alike after names, + timestamps, + hex ids, + numbers (cycles)",
    ),
    (
        "split",
        Action::CycleSplit,
        "1, 2, 3 or 4 hosts side by side",
    ),
    ("pin", Action::TogglePin, "pin a host into the split view"),
    ("search", Action::Search, "search the output forward"),
    (
        "search_backward",
        Action::SearchBackward,
        "search the output backward",
    ),
    (
        "search_next",
        Action::SearchNext,
        "next match, the way the search went",
    ),
    (
        "search_prev",
        Action::SearchPrev,
        "next match the other way",
    ),
    (
        "search_all",
        Action::SearchAll,
        "search every host's output: a list of the hosts that match",
    ),
    (
        "wrap",
        Action::ToggleWrap,
        "wrap long lines, or scroll them sideways",
    ),
    (
        "save_output",
        Action::SaveOutput,
        "save the shown output to a file here",
    ),
    (
        "save_hosts",
        Action::SaveHosts,
        "save the host list with states to a file here",
    ),
    (
        "shell",
        Action::Shell,
        "a shell on the host (exit returns here)",
    ),
    ("next_run", Action::NextRun, "show the next run of the list"),
    (
        "prev_run",
        Action::PrevRun,
        "show the previous run of the list",
    ),
    (
        "command",
        Action::CommandBox,
        "run one command on the selection",
    ),
];

impl Action {
    /// Parses a keymap file's action name; `None` for unknown names.
    pub fn from_name(name: &str) -> Option<Action> {
        BINDABLE
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, a, _)| a.clone())
    }

    pub fn name(&self) -> Option<&'static str> {
        BINDABLE
            .iter()
            .find(|(_, a, _)| a == self)
            .map(|(n, _, _)| *n)
    }

    pub fn description(&self) -> &'static str {
        BINDABLE
            .iter()
            .find(|(_, a, _)| a == self)
            .map(|(_, _, d)| *d)
            .unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        for (name, action, _) in BINDABLE {
            assert_eq!(Action::from_name(name).as_ref(), Some(action));
            assert_eq!(action.name(), Some(*name));
        }
        assert_eq!(Action::from_name("explode"), None);
    }

    #[test]
    fn views_cycle() {
        assert_eq!(ViewId::Schedules.next(), ViewId::Inventory);
        assert_eq!(ViewId::Inventory.prev(), ViewId::Schedules);
        assert_eq!(ViewId::Run.index(), 3);
    }
}

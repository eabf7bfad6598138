//! `jobdeck inventory list|hosts|show`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::cli::{FilterArgs, InventoryCommand};
use crate::exit;
use crate::inventory::select::Selection;
use crate::inventory::{Inventory, ansible_json};

/// The `-i` values, or the default: ./inventory if it exists, otherwise the
/// sample inventory shipped in the repository.
pub fn default_sources(given: &[String]) -> Vec<String> {
    if !given.is_empty() {
        return given.to_vec();
    }
    if Path::new("inventory").exists() {
        return vec!["inventory".into()];
    }
    let local = PathBuf::from("sample-inventory");
    let sample = if local.exists() {
        local
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-inventory")
    };
    vec![sample.to_string_lossy().into_owned()]
}

pub fn run(sources: &[String], cmd: InventoryCommand) -> Result<u8> {
    let inv = Inventory::load(&default_sources(sources))?;
    let mut out = std::io::stdout().lock();
    match cmd {
        InventoryCommand::List { json, export } => {
            let _ = export;
            if json {
                writeln!(out, "{}", ansible_json::list_json(&inv))?;
            } else {
                write!(out, "{}", crate::inventory::tree::render_tree(&inv))?;
            }
        }
        InventoryCommand::Hosts { pattern, filter } => {
            let selection = selection_from(Some(pattern), filter);
            for h in selection.resolve(&inv, &std::env::current_dir()?)? {
                writeln!(out, "{}", inv.host_name(h))?;
            }
        }
        InventoryCommand::Show { host, json } => {
            let _ = (host, json);
        }
    }
    Ok(exit::OK)
}

pub fn selection_from(pattern: Option<String>, filter: FilterArgs) -> Selection {
    Selection {
        pattern,
        project: filter.project,
        cluster: filter.cluster,
        app: filter.app,
        hosts: filter.hosts,
    }
}

//! `jobdeck inventory list|hosts|show`.

use std::io::Write;

use anyhow::Result;

use crate::cli::{FilterArgs, InventoryCommand};
use crate::inventory::connection::{self, ConnectionSettings};
use crate::inventory::select::Selection;
use crate::inventory::{Inventory, ansible_json, vars};

/// Loads the inventory of the `-i` values (or the default) for a command,
/// printing what loading went past on stderr.
pub fn load(sources: &[String]) -> Result<Inventory> {
    Ok(warned(Inventory::load(
        &crate::inventory::default_sources(sources),
    )?))
}

/// Prints what loading `inv` went past (a skipped file, a bad line) on
/// stderr, as every command that loads an inventory does.
pub fn warned(inv: Inventory) -> Inventory {
    for warning in &inv.warnings {
        eprintln!("jobdeck: warning: {warning}");
    }
    inv
}

pub fn run(sources: &[String], cmd: InventoryCommand) -> Result<u8> {
    let inv = load(sources)?;
    let mut out = Vec::new();
    match cmd {
        InventoryCommand::List { json, export, .. } => {
            if json {
                out = ansible_json::list_json(&inv, export).into_bytes();
                out.push(b'\n');
            } else {
                out = crate::inventory::tree::render_tree(&inv).into_bytes();
            }
        }
        InventoryCommand::Hosts {
            pattern, filter, ..
        } => {
            let selection = selection_from(Some(pattern), filter);
            for h in selection.resolve(&inv, &std::env::current_dir()?)? {
                writeln!(out, "{}", inv.host_name(h))?;
            }
        }
        InventoryCommand::Show { host, json, .. } => show_host(&inv, &host, json, &mut out)?,
    }
    // The process ends right after this: freeing 10,000 hosts' variable
    // maps one by one would only cost time.
    std::mem::forget(inv);
    super::stdout::write(out)
}

/// `inventory show HOST`: merged vars (secrets masked), groups, placement
/// and connection settings.
fn show_host(inv: &Inventory, name: &str, json: bool, out: &mut impl Write) -> Result<()> {
    let h = inv
        .host_id(name)
        .ok_or_else(|| anyhow::anyhow!("host '{name}' is not in the inventory"))?;
    let vars = connection::masked(&inv.hostvars[h]);
    let conn = ConnectionSettings::from_vars(name, &inv.hostvars[h]).map_err(anyhow::Error::msg)?;
    let groups: Vec<&str> = vars::sorted_groups(&inv.data, h)
        .into_iter()
        .map(|g| inv.data.group(g).name.as_str())
        .collect();
    let place = &inv.placement[h];
    if json {
        let doc = serde_json::json!({
            "name": name,
            "project": place.project,
            "cluster": place.cluster,
            "app": place.app,
            "groups": groups,
            "connection": conn.to_json(),
            "vars": vars,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(());
    }
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    writeln!(out, "host        {name}")?;
    writeln!(out, "project     {}", or_dash(&place.project))?;
    writeln!(out, "cluster     {}", or_dash(&place.cluster))?;
    writeln!(out, "app         {}", or_dash(&place.app))?;
    writeln!(out, "groups      {}", groups.join(", "))?;
    for line in conn.lines() {
        writeln!(out, "{:<12}{}", line.label, line.value)?;
    }
    writeln!(out, "vars")?;
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort();
    for k in names {
        writeln!(out, "  {k}: {}", serde_json::to_string(&vars[k])?)?;
    }
    Ok(())
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

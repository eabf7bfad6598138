//! `jobdeck inventory list|hosts|show`.

use std::io::Write;

use anyhow::Result;

use crate::cli::{FilterArgs, InventoryCommand};
use crate::exit;
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
    let mut out = std::io::stdout().lock();
    match cmd {
        InventoryCommand::List { json, export } => {
            if json {
                let mut text = ansible_json::list_json(&inv, export);
                text.push('\n');
                out.write_all(text.as_bytes())?;
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
        InventoryCommand::Show { host, json } => show_host(&inv, &host, json, &mut out)?,
    }
    out.flush()?;
    // The process ends right after this: freeing 10,000 hosts' variable
    // maps one by one would only cost time.
    std::mem::forget(inv);
    Ok(exit::OK)
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
            "connection": conn,
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
    writeln!(out, "connection  {}", conn.connection)?;
    writeln!(out, "address     {}", conn.address)?;
    writeln!(
        out,
        "port        {}",
        conn.port
            .map_or("- (ssh_config, else 22)".into(), |p| p.to_string())
    )?;
    writeln!(out, "user        {}", or_dash(&conn.user))?;
    writeln!(out, "key         {}", or_dash(&conn.private_key_file))?;
    if conn.has_password {
        writeln!(out, "password    ***")?;
    }
    if let Some(jump) = &conn.proxy_jump {
        writeln!(out, "proxy jump  {jump}")?;
    }
    if let Some(cmd) = &conn.proxy_command {
        writeln!(out, "proxy cmd   {cmd}")?;
    }
    for (k, v) in &conn.ssh_options {
        writeln!(out, "ssh option  {k}={v}")?;
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

//! Host selection as operators ask for it: an Ansible pattern, narrowed by
//! project / cluster / app, or an explicit list of names and IPs that
//! replaces both (seed 000: an explicit list switches the filters off).

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use super::tree::Placement;
use super::{HostId, Inventory, InventoryError};

#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// An Ansible host pattern; `None` means `all`.
    pub pattern: Option<String>,
    pub project: Option<String>,
    pub cluster: Option<String>,
    pub app: Option<String>,
    /// Explicit hostnames or IPs; when given, the filters above do not apply.
    pub hosts: Vec<String>,
}

impl Selection {
    /// The selected hosts, in pattern order (or in the order of an explicit
    /// list). An empty result is an error that says what was asked for.
    pub fn resolve(&self, inv: &Inventory, base: &Path) -> Result<Vec<HostId>, InventoryError> {
        let explicit: Vec<&str> = self
            .hosts
            .iter()
            .map(|h| h.trim())
            .filter(|h| !h.is_empty())
            .collect();
        if !explicit.is_empty() {
            return explicit_hosts(inv, &explicit);
        }
        let pattern = self.pattern.as_deref().unwrap_or("all");
        let mut hosts = super::pattern::select(&inv.data, pattern, base)?;
        if self.project.is_some() || self.cluster.is_some() || self.app.is_some() {
            hosts.retain(|&h| inv.placement.get(h).is_some_and(|p| self.admits(p)));
        }
        if hosts.is_empty() {
            return Err(InventoryError::msg(format!(
                "pattern '{pattern}'{} matched no hosts",
                self.describe_filters()
            )));
        }
        Ok(hosts)
    }

    /// True when the placement equals every filter that is set.
    fn admits(&self, placement: &Placement) -> bool {
        let fits =
            |filter: &Option<String>, value: &Option<String>| filter.is_none() || filter == value;
        fits(&self.project, &placement.project)
            && fits(&self.cluster, &placement.cluster)
            && fits(&self.app, &placement.app)
    }

    /// " with --project shop --app api", or "" without filters.
    fn describe_filters(&self) -> String {
        let mut text = String::new();
        for (flag, value) in [
            ("project", &self.project),
            ("cluster", &self.cluster),
            ("app", &self.app),
        ] {
            if let Some(value) = value {
                text.push_str(if text.is_empty() { " with" } else { "" });
                text.push_str(&format!(" --{flag} {value}"));
            }
        }
        text
    }
}

/// Resolves each entry as an inventory host name or, failing that, as the
/// `ansible_host` of one or more hosts (all of them, in inventory order).
/// Every entry that is neither is named in one error.
fn explicit_hosts(inv: &Inventory, entries: &[&str]) -> Result<Vec<HostId>, InventoryError> {
    let mut by_address: Option<HashMap<String, Vec<HostId>>> = None;
    let mut chosen = Vec::new();
    let mut is_chosen = vec![false; inv.data.hosts.len()];
    let mut unknown: Vec<&str> = Vec::new();
    for &entry in entries {
        let found: Vec<HostId> = match inv.host_id(entry) {
            Some(h) => vec![h],
            None => by_address
                .get_or_insert_with(|| address_index(inv))
                .get(entry)
                .cloned()
                .unwrap_or_default(),
        };
        if found.is_empty() {
            if !unknown.contains(&entry) {
                unknown.push(entry);
            }
            continue;
        }
        for h in found {
            if !std::mem::replace(&mut is_chosen[h], true) {
                chosen.push(h);
            }
        }
    }
    if !unknown.is_empty() {
        return Err(InventoryError::msg(format!(
            "not in the inventory (neither a host name nor any host's ansible_host): {}",
            unknown.join(", ")
        )));
    }
    Ok(chosen)
}

/// Hosts by their merged `ansible_host`, built only when an entry needs it.
fn address_index(inv: &Inventory) -> HashMap<String, Vec<HostId>> {
    let mut index: HashMap<String, Vec<HostId>> = HashMap::new();
    for (h, vars) in inv.hostvars.iter().enumerate().take(inv.data.hosts.len()) {
        let address = match vars.get("ansible_host") {
            Some(Value::String(s)) => s.trim().to_string(),
            Some(Value::Null) | None => continue,
            Some(other) => other.to_string(),
        };
        index.entry(address).or_default().push(h);
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{InventoryData, VarMap};

    fn place(project: &str, cluster: &str, app: Option<&str>) -> Placement {
        Placement {
            project: Some(project.into()),
            cluster: Some(cluster.into()),
            app: app.map(str::to_string),
        }
    }

    /// Six hosts: shop/eu (web1 web2 as app "web", db1 as "db"),
    /// shop/us (web3 as "web"), blog/eu (blog1, no app) and a host with no
    /// placement at all.
    fn inventory() -> Inventory {
        let mut data = InventoryData::new();
        let web = data.add_group("web");
        let db = data.add_group("db");
        let prod = data.add_group("prod");
        for name in ["web1", "web2", "web3"] {
            data.add_host(name, Some(web), None);
        }
        data.add_host("db1", Some(db), None);
        data.add_host("blog1", None, None);
        data.add_host("loose", None, None);
        data.add_child("prod", "web").unwrap();
        data.add_host("db1", Some(prod), None);
        data.reconcile();
        let addresses = [
            "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.1.1", "10.0.0.3", "",
        ];
        let hostvars = addresses
            .iter()
            .map(|a| {
                let mut vars = VarMap::new();
                if !a.is_empty() {
                    vars.insert("ansible_host".into(), Value::from(*a));
                }
                vars
            })
            .collect();
        let placement = vec![
            place("shop", "eu", Some("web")),
            place("shop", "eu", Some("web")),
            place("shop", "us", Some("web")),
            place("shop", "eu", Some("db")),
            place("blog", "eu", None),
            Placement::default(),
        ];
        Inventory {
            data,
            sources: Vec::new(),
            source_vars: Vec::new(),
            hostvars,
            placement,
            warnings: Vec::new(),
        }
    }

    fn names(inv: &Inventory, hosts: &[HostId]) -> Vec<String> {
        hosts
            .iter()
            .map(|&h| inv.host_name(h).to_string())
            .collect()
    }

    fn resolve(inv: &Inventory, selection: Selection) -> Result<Vec<String>, InventoryError> {
        selection
            .resolve(inv, Path::new("."))
            .map(|hosts| names(inv, &hosts))
    }

    fn with(project: Option<&str>, cluster: Option<&str>, app: Option<&str>) -> Selection {
        Selection {
            project: project.map(str::to_string),
            cluster: cluster.map(str::to_string),
            app: app.map(str::to_string),
            ..Selection::default()
        }
    }

    #[test]
    fn no_pattern_means_all() {
        let inv = inventory();
        assert_eq!(
            resolve(&inv, Selection::default()).unwrap(),
            names(&inv, &inv.all_hosts())
        );
    }

    #[test]
    fn filters_narrow_the_pattern_and_keep_its_order() {
        let inv = inventory();
        let shop = with(Some("shop"), None, None);
        // `all` lists db (a top group) before prod, whose own db1 precedes its child web.
        assert_eq!(
            resolve(&inv, shop).unwrap(),
            ["db1", "web1", "web2", "web3"]
        );
        let eu_shop = Selection {
            pattern: Some("db:web".into()),
            ..with(Some("shop"), Some("eu"), None)
        };
        assert_eq!(resolve(&inv, eu_shop).unwrap(), ["db1", "web1", "web2"]);
        assert_eq!(
            resolve(&inv, with(None, Some("eu"), Some("web"))).unwrap(),
            ["web1", "web2"]
        );
        assert_eq!(
            resolve(&inv, with(Some("blog"), None, None)).unwrap(),
            ["blog1"]
        );
    }

    #[test]
    fn an_empty_result_names_pattern_and_filters() {
        let inv = inventory();
        let selection = Selection {
            pattern: Some("web:&prod".into()),
            ..with(Some("blog"), None, Some("api"))
        };
        let err = resolve(&inv, selection).unwrap_err().to_string();
        assert_eq!(
            err,
            "pattern 'web:&prod' with --project blog --app api matched no hosts"
        );
        let plain = Selection {
            pattern: Some("nothing*".into()),
            ..Selection::default()
        };
        assert_eq!(
            resolve(&inv, plain).unwrap_err().to_string(),
            "pattern 'nothing*' matched no hosts"
        );
    }

    #[test]
    fn explicit_hosts_replace_pattern_and_filters() {
        let inv = inventory();
        let selection = Selection {
            pattern: Some("db".into()),
            hosts: vec![
                "loose".into(),
                " web2 ".into(),
                "10.0.1.1".into(),
                "web2".into(),
            ],
            ..with(Some("blog"), None, None)
        };
        assert_eq!(resolve(&inv, selection).unwrap(), ["loose", "web2", "db1"]);
        // An address shared by two hosts selects both, in inventory order.
        let shared = Selection {
            hosts: vec!["10.0.0.3".into()],
            ..Selection::default()
        };
        assert_eq!(resolve(&inv, shared).unwrap(), ["web3", "blog1"]);
    }

    #[test]
    fn unknown_explicit_hosts_are_all_named() {
        let inv = inventory();
        let selection = Selection {
            hosts: vec![
                "web1".into(),
                "10.0.0.9".into(),
                "web99".into(),
                "10.0.0.9".into(),
            ],
            ..Selection::default()
        };
        let err = resolve(&inv, selection).unwrap_err().to_string();
        assert!(err.ends_with("not in the inventory (neither a host name nor any host's ansible_host): 10.0.0.9, web99"), "{err}");
    }

    #[test]
    fn blank_explicit_entries_do_not_count_as_a_list() {
        let inv = inventory();
        let selection = Selection {
            pattern: Some("db".into()),
            hosts: vec![" ".into(), String::new()],
            ..Selection::default()
        };
        assert_eq!(resolve(&inv, selection).unwrap(), ["db1"]);
    }
}

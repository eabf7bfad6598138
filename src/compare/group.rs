//! Hosts folded into groups of alike output: one template per group,
//! the largest group (the majority) first.

use std::collections::HashMap;

/// Hosts whose outputs are alike, and the one text they share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputGroup<K> {
    /// In the order they were added.
    pub members: Vec<K>,
    /// What they have in common beyond the output (a status, say).
    pub class: String,
    /// The output, normalised.
    pub template: String,
}

/// Every host's normalised output, grouped.
#[derive(Debug, Clone)]
pub struct Comparison<K> {
    groups: Vec<OutputGroup<K>>,
    by_key: HashMap<(String, String), usize>,
}

impl<K> Default for Comparison<K> {
    fn default() -> Self {
        Comparison {
            groups: Vec::new(),
            by_key: HashMap::new(),
        }
    }
}

impl<K: Clone + Ord> Comparison<K> {
    pub fn new() -> Comparison<K> {
        Comparison::default()
    }

    /// Adds a member whose normalised output is `template`; members are
    /// alike when both their `class` and their template are equal. Returns
    /// the member's group (an index into the groups in order of first
    /// appearance, not of size).
    pub fn add(&mut self, member: K, class: String, template: String) -> usize {
        self.add_all([member], class, template)
    }

    /// Adds members that share one output (hosts that printed the same
    /// bytes): the template is compared once for all of them.
    pub fn add_all(
        &mut self,
        members: impl IntoIterator<Item = K>,
        class: String,
        template: String,
    ) -> usize {
        let key = (class, template);
        if let Some(&index) = self.by_key.get(&key) {
            self.groups[index].members.extend(members);
            return index;
        }
        let (class, template) = key.clone();
        self.groups.push(OutputGroup {
            members: members.into_iter().collect(),
            class,
            template,
        });
        self.by_key.insert(key, self.groups.len() - 1);
        self.groups.len() - 1
    }

    /// Takes a member out (it was run again); its group stays, maybe empty.
    pub fn remove(&mut self, member: &K) {
        for group in &mut self.groups {
            group.members.retain(|m| m != member);
        }
    }

    /// The groups with members, largest first, then by their first member.
    pub fn groups(&self) -> Vec<&OutputGroup<K>> {
        self.ranked().into_iter().map(|i| &self.groups[i]).collect()
    }

    /// The indices of the groups with members, in the order of `groups`.
    pub fn ranked(&self) -> Vec<usize> {
        let mut ranked: Vec<usize> = (0..self.groups.len())
            .filter(|&i| !self.groups[i].members.is_empty())
            .collect();
        ranked.sort_by_key(|&i| {
            let members = &self.groups[i].members;
            (
                std::cmp::Reverse(members.len()),
                members.iter().min().cloned(),
            )
        });
        ranked
    }

    /// A group by the index `add` returned.
    pub fn group(&self, index: usize) -> &OutputGroup<K> {
        &self.groups[index]
    }

    pub fn total(&self) -> usize {
        self.groups.iter().map(|g| g.members.len()).sum()
    }

    /// "38 of 40 alike, 2 differ" (the majority against the rest), "all 40
    /// alike" or "all 40 differ".
    pub fn summary(&self) -> String {
        let total = self.total();
        let groups = self.groups();
        let alike = groups.first().map_or(0, |g| g.members.len());
        if groups.len() <= 1 {
            return if total == 1 {
                "1 host".to_owned()
            } else {
                format!("all {total} alike")
            };
        }
        if alike == 1 {
            return format!("all {total} differ");
        }
        let differ = total - alike;
        format!("{alike} of {total} alike, {differ} differ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_majority_comes_first_and_the_summary_counts_the_rest() {
        let mut c = Comparison::new();
        for host in 0..38 {
            c.add(host, "ok".into(), "{host} up\n".into());
        }
        c.add(38, "ok".into(), "{host} disk full\n".into());
        c.add(39, "failed".into(), "{host} up\n".into());
        assert_eq!(c.summary(), "38 of 40 alike, 2 differ");
        let groups = c.groups();
        assert_eq!(groups.len(), 3);
        assert_eq!(groups[0].members.len(), 38);
        assert_eq!(groups[1].members, [38]);
        assert_eq!(groups[2].class, "failed");
        c.remove(&38);
        c.remove(&39);
        assert_eq!(c.summary(), "all 38 alike");
    }
}

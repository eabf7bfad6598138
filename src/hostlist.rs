//! Folding host names into ranges for display: `web01 web02 web03 db1` →
//! `web[01-03],db1`, the way clush and pdsh show host sets.

use indexmap::IndexMap;

/// Folds names that differ only in a trailing number of the same width into
/// `prefix[a-b,d]suffix` groups. Order: first appearance of each group.
pub fn fold<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    // (prefix, digit width, suffix) -> numbers; entries keep first-appearance order.
    let mut groups: IndexMap<(&str, usize, &str), Vec<u64>> = IndexMap::new();
    let mut entries: Vec<Entry> = Vec::new();
    for name in names {
        match split_number(name) {
            Some((prefix, digits, suffix)) => {
                let (index, fresh) = match groups.get_index_of(&(prefix, digits.len(), suffix)) {
                    Some(i) => (i, false),
                    None => (
                        groups
                            .insert_full((prefix, digits.len(), suffix), Vec::new())
                            .0,
                        true,
                    ),
                };
                groups[index].push(digits.parse().unwrap_or(0));
                if fresh {
                    entries.push(Entry::Group(index));
                }
            }
            None => entries.push(Entry::Plain(name)),
        }
    }
    let render = |index: usize| {
        let ((prefix, width, suffix), nums) = groups.get_index(index).expect("index from insert");
        let mut nums = nums.clone();
        nums.sort_unstable();
        nums.dedup();
        if nums.len() == 1 {
            format!("{prefix}{:0width$}{suffix}", nums[0], width = *width)
        } else {
            format!("{prefix}[{}]{suffix}", ranges(&nums, *width))
        }
    };
    entries
        .into_iter()
        .map(|e| match e {
            Entry::Group(index) => render(index),
            Entry::Plain(name) => name.to_string(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

enum Entry<'a> {
    Group(usize),
    Plain(&'a str),
}

/// The last run of ASCII digits in a name, with what comes before and after.
fn split_number(name: &str) -> Option<(&str, &str, &str)> {
    let bytes = name.as_bytes();
    let end = bytes.iter().rposition(|b| b.is_ascii_digit())? + 1;
    let start = bytes[..end]
        .iter()
        .rposition(|b| !b.is_ascii_digit())
        .map_or(0, |i| i + 1);
    if end - start > 18 {
        return None; // would overflow u64; show as is
    }
    Some((&name[..start], &name[start..end], &name[end..]))
}

fn ranges(nums: &[u64], width: usize) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < nums.len() {
        let mut j = i;
        while j + 1 < nums.len() && nums[j + 1] == nums[j] + 1 {
            j += 1;
        }
        if i == j {
            parts.push(format!("{:0width$}", nums[i]));
        } else {
            parts.push(format!("{:0width$}-{:0width$}", nums[i], nums[j]));
        }
        i = j + 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn folds_numbered_hosts() {
        assert_eq!(fold(["web01", "web02", "web03", "web05"]), "web[01-03,05]");
        assert_eq!(fold(["db1", "web01", "db2", "mail"]), "db[1-2],web01,mail");
        assert_eq!(fold(["10.0.0.1", "10.0.0.2", "10.0.0.3"]), "10.0.0.[1-3]");
        assert_eq!(fold(["a1b", "a2b", "a1c"]), "a[1-2]b,a1c");
        assert_eq!(fold(["web1", "web10"]), "web1,web10");
        assert_eq!(fold(["x", "y"]), "x,y");
    }
}

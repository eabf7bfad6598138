//! Folding host names into ranges for display: `web01 web02 web03 db1` →
//! `web[01-03],db1`, the way clush and pdsh show host sets.

use indexmap::IndexMap;

/// Folds names that differ only in a trailing number into
/// `prefix[a-b,d]suffix` groups, by numeric value: `g1`…`g45` is `g[1-45]`.
/// A zero-padded number (`web01`) folds with numbers of its width
/// (`web[01-10]`), not with unpadded ones (`web1`). Order: first appearance
/// of each group.
pub fn fold<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    // (prefix, padded width or 0, suffix) -> numbers; in first-appearance order.
    let mut groups: IndexMap<(&str, usize, &str), Vec<u64>> = IndexMap::new();
    let mut entries: Vec<Entry> = Vec::new();
    // Unpadded numbers, by group, with their digit count.
    let mut unpadded: Vec<(usize, u64, usize)> = Vec::new();
    for name in names {
        match split_number(name) {
            Some((prefix, digits, suffix)) => {
                let width = if digits.len() > 1 && digits.starts_with('0') {
                    digits.len()
                } else {
                    0
                };
                let (index, fresh) = match groups.get_index_of(&(prefix, width, suffix)) {
                    Some(i) => (i, false),
                    None => (
                        groups.insert_full((prefix, width, suffix), Vec::new()).0,
                        true,
                    ),
                };
                let number = digits.parse().unwrap_or(0);
                if width == 0 {
                    unpadded.push((index, number, digits.len()));
                } else {
                    groups[index].push(number);
                }
                if fresh {
                    entries.push(Entry::Group(index));
                }
            }
            None => entries.push(Entry::Plain(name)),
        }
    }
    // `web10` beside `web01`…`web09` is one of them: it has their width.
    for (index, number, digits) in unpadded {
        let (&(prefix, _, suffix), _) = groups.get_index(index).expect("index from insert");
        let target = groups
            .get_index_of(&(prefix, digits, suffix))
            .unwrap_or(index);
        groups[target].push(number);
    }
    let render = |index: usize| {
        let ((prefix, width, suffix), nums) = groups.get_index(index).expect("index from insert");
        let mut nums = nums.clone();
        nums.sort_unstable();
        nums.dedup();
        match nums.as_slice() {
            [] => None,
            [one] => Some(format!("{prefix}{one:0width$}{suffix}", width = *width)),
            _ => Some(format!("{prefix}[{}]{suffix}", ranges(&nums, *width))),
        }
    };
    entries
        .into_iter()
        .filter_map(|e| match e {
            Entry::Group(index) => render(index),
            Entry::Plain(name) => Some(name.to_string()),
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
        assert_eq!(fold(["x", "y"]), "x,y");
    }

    #[test]
    fn folds_by_numeric_value_across_widths() {
        let g: Vec<String> = (1..=45).map(|n| format!("g{n}")).collect();
        assert_eq!(fold(g.iter().map(String::as_str)), "g[1-45]");
        assert_eq!(fold(["web1", "web10"]), "web[1,10]");
        assert_eq!(fold(["web9", "web10", "web11"]), "web[9-11]");
        // Padded numbers keep their width; an unpadded one of that width joins them.
        let padded: Vec<String> = (1..=10).map(|n| format!("web{n:02}")).collect();
        assert_eq!(fold(padded.iter().map(String::as_str)), "web[01-10]");
        assert_eq!(fold(["web1", "web01"]), "web1,web01");
        assert_eq!(fold(["web10", "web1", "web01"]), "web1,web[01,10]");
        assert_eq!(fold(["n0", "n1", "n2"]), "n[0-2]");
    }
}

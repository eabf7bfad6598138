//! The rules jobdeck ships: the classic ways to wreck a fleet by typo.
//!
//! The patterns are built from a few parts so each reads as "this command,
//! in command position, with these arguments":
//! - `CMD`: where a command starts — the line start, after `;`, `&`, `|`,
//!   a bracket, a backquote, a quote (`sh -c 'rm ...'`), `$(`, or after
//!   `sudo [-opts]`, `exec`, `xargs`, `env VAR=x`, `nice`, `then`, `do`...
//!   so `echo reboot` or `grep reboot log` do not fire;
//! - `PATH`: an optional directory or backslash before the name (`/bin/rm`,
//!   `\rm`);
//! - `ARGS`: the words of the same simple command (no `;`, `&`, `|`).
//!
//! The README lists these rules; `jobdeck guard rules` prints those in force.

use regex::Regex;

use super::rule::{Action, Languages, Rule};

const CMD: &str = concat!(
    r#"(?:(?:^|[;&|(){}!`'"]|\$\()\s*"#,
    r#"|(?:^|[\s;&|(){}!`'"])(?:then|do|else|exec|nohup|time|command|builtin"#,
    r"|sudo(?:\s+-[\w-]+(?:\s+[\w.@-]+)?)*",
    r"|xargs(?:\s+-\S+)*",
    r"|env(?:\s+\w+=\S*)*",
    r"|nice(?:\s+-n\s*-?\d+|\s+-\d+)?)\s+)",
);
const PATH: &str = r"(?:\\|[\w.~/-]*/)?";
/// One more word of the same simple command.
const WORD: &str = r"(?:\s+[^\s;&|]+)";
/// `/` or `/*` as a whole word, quoted or not.
const ROOT: &str = r#"\s+['"]?/\*?['"]?(?:$|[\s;&|)])"#;
/// The end of a command's name: `reboot-check.sh` is another command.
const END: &str = r#"(?:$|[\s;&|)'"`])"#;
const RECURSIVE: &str = r"\s+(?:-[a-zA-Z]*[rR][a-zA-Z]*|--recursive)\b";
/// Whole disks and partitions: sda, sdb1, nvme0n1, vda, xvdf, mmcblk0, md0, dm-0, ...
const DISK: &str = r"(?:sd[a-z]+\d*|hd[a-z]+\d*|vd[a-z]+\d*|xvd[a-z]+\d*|nvme\d+n\d+(?:p\d+)?|mmcblk\d+(?:p\d+)?|md\d+|dm-\d+|mapper/\S+|disk/\S+)";

/// `CMD PATH name` — a command in command position.
fn command(name: &str) -> String {
    format!("{CMD}{PATH}{name}")
}

struct Builtin {
    name: &'static str,
    action: Action,
    message: &'static str,
    pattern: String,
}

fn builtins() -> Vec<Builtin> {
    let rm = command("rm");
    let chmod = command("chmod");
    let mode = r"\s+(?:0?777|[augo]*\+rwx)";
    vec![
        Builtin {
            name: "rm-root",
            action: Action::Block,
            message: "removes everything under / (rm -r with / or /* as an argument)",
            pattern: format!(
                "{rm}(?:{WORD}*?{RECURSIVE}{WORD}*?{ROOT}|{WORD}*?{ROOT_WORD}{WORD}*?{RECURSIVE})",
                // `/` followed by more words: the next one starts with a space.
                ROOT_WORD = r#"\s+['"]?/\*?['"]?"#
            ),
        },
        Builtin {
            name: "no-preserve-root",
            action: Action::Block,
            message: "rm --no-preserve-root exists only to remove /",
            pattern: format!(r"{rm}\b[^;&|\n]*--no-preserve-root"),
        },
        Builtin {
            name: "fork-bomb",
            action: Action::Block,
            message: "a fork bomb takes the host down",
            pattern: r":\s*\(\s*\)\s*\{\s*:\s*\|\s*:\s*&\s*\}".to_owned(),
        },
        Builtin {
            name: "chmod-777-root",
            action: Action::Block,
            message: "makes every file on the host writable by everyone",
            pattern: format!(
                "{chmod}(?:(?:\\s+-\\S+)*?\\s+(?:-[a-zA-Z]*R[a-zA-Z]*|--recursive)(?:\\s+-\\S+)*{mode}|{mode}(?:\\s+-\\S+)*?\\s+(?:-[a-zA-Z]*R[a-zA-Z]*|--recursive)(?:\\s+-\\S+)*){ROOT}"
            ),
        },
        Builtin {
            name: "mkfs",
            action: Action::Confirm,
            message: "creates a file system, erasing what the device held",
            pattern: format!("{}{END}", command(r"(?:mkfs(?:\.\w+)?|mke2fs|mkswap)")),
        },
        Builtin {
            name: "dd-disk",
            action: Action::Confirm,
            message: "dd writes straight onto a disk",
            pattern: format!(r"{}\s[^;&|\n]*\bof=/dev/{DISK}", command("dd")),
        },
        Builtin {
            name: "raw-disk-write",
            action: Action::Confirm,
            message: "writes to or wipes a raw disk device",
            pattern: format!(
                r"(?:>{{1,2}}\s*/dev/{DISK}\b|{}\s[^;&|\n]*/dev/{DISK}\b)",
                command("(?:tee|shred|wipefs|blkdiscard)")
            ),
        },
        Builtin {
            name: "shutdown",
            action: Action::Confirm,
            message: "stops or restarts the host",
            pattern: format!(
                r"(?:{}{END}|{}\s+(?:-\S+\s+)*(?:reboot|poweroff|halt|kexec){END}|{}\s+[06]{END})",
                command("(?:shutdown|reboot|halt|poweroff)"),
                command("systemctl"),
                command("(?:init|telinit)")
            ),
        },
        Builtin {
            name: "iptables-flush",
            action: Action::Confirm,
            message: "drops every firewall rule (and may cut the host off)",
            pattern: format!(
                r"(?:{}\s[^;&|\n]*?(?:-[a-zA-Z]*F|--flush){END}|{}\s+flush\s+ruleset{END})",
                command(r"(?:ip6?tables(?:-legacy|-nft)?)"),
                command("nft")
            ),
        },
        Builtin {
            name: "userdel",
            action: Action::Confirm,
            message: "deletes a user account",
            pattern: format!("{}{END}", command("(?:userdel|deluser)")),
        },
        Builtin {
            name: "crontab-remove",
            action: Action::Confirm,
            message: "crontab -r deletes the whole crontab without asking",
            pattern: format!(
                r"{}\s[^;&|\n]*?-[a-zA-Z]*r[a-zA-Z]*{END}",
                command("crontab")
            ),
        },
        Builtin {
            name: "pipe-to-shell",
            action: Action::Warn,
            message: "runs whatever the download says, unchecked",
            pattern: r"\b(?:curl|wget)\b[^;&\n]*\|\s*(?:sudo\s+(?:-\S+\s+)*)?(?:ba|da|z|k)?sh\b"
                .to_owned(),
        },
    ]
}

/// The built-in rules, in the order the README lists them.
pub fn rules() -> Vec<Rule> {
    builtins()
        .into_iter()
        .map(|b| Rule {
            name: b.name.to_owned(),
            action: b.action,
            word: b.name.to_owned(),
            languages: Languages::shell(),
            pattern: Regex::new(&b.pattern)
                .unwrap_or_else(|e| panic!("built-in guard rule {}: {e}", b.name)),
            message: Some(b.message.to_owned()),
            origin: "built-in".to_owned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fires(rule: &str, line: &str) -> bool {
        rules()
            .iter()
            .find(|r| r.name == rule)
            .unwrap_or_else(|| panic!("no rule {rule}"))
            .pattern
            .is_match(line)
    }

    #[track_caller]
    fn check(rule: &str, hits: &[&str], misses: &[&str]) {
        for line in hits {
            assert!(fires(rule, line), "{rule} should fire on {line:?}");
        }
        for line in misses {
            assert!(!fires(rule, line), "{rule} should not fire on {line:?}");
        }
    }

    #[test]
    fn rm_root_in_its_spellings() {
        check(
            "rm-root",
            &[
                "rm -rf /",
                "rm -rf / tmp/x",
                "rm -fr /*",
                "rm -r -f /",
                "rm -f -r /",
                "rm --recursive --force /",
                "rm -Rf '/'",
                "rm -rf \"/\"",
                "/bin/rm -rf /",
                "/usr/bin/rm -rf /",
                "\\rm -rf /",
                "sudo rm -rf /",
                "sudo -u root rm -rf /",
                "sudo -E /bin/rm -rf /",
                "cd /tmp && rm -rf /",
                "x=1; rm -rf /",
                "sh -c 'rm -rf /'",
                "rm / -rf",
                "if true; then rm -rf /; fi",
                "rm -rfv /",
                "echo | xargs rm -rf /",
            ],
            &[
                "rm -rf /tmp/x",
                "rm -f /",
                "rm -rf ./",
                "rm -rf /var/lib/app/",
                "echo rm -rf /",
                "grep 'rm' /var/log/x",
                "farm -rf /",
                "rm -rf $HOME/x",
            ],
        );
    }

    #[test]
    fn the_other_blocks() {
        check(
            "no-preserve-root",
            &[
                "rm -rf --no-preserve-root /",
                "sudo rm --no-preserve-root -r /x",
            ],
            &["echo --no-preserve-root"],
        );
        check(
            "fork-bomb",
            &[":(){ :|:& };:", ": ( ) { : | : & } ; :"],
            &["f() { a | b; }"],
        );
        check(
            "chmod-777-root",
            &[
                "chmod -R 777 /",
                "chmod -R 0777 /*",
                "sudo chmod --recursive a+rwx /",
                "chmod 777 -R /",
                "chmod -v -R 777 /",
            ],
            &["chmod -R 777 /srv/app", "chmod 777 /", "chmod -R 755 /"],
        );
    }

    #[test]
    fn disks_power_firewall_users_crontab() {
        check(
            "mkfs",
            &[
                "mkfs.ext4 /dev/sdb1",
                "sudo mkfs -t xfs /dev/vdb",
                "mke2fs /dev/sdc",
            ],
            &["echo mkfs", "ls /sbin/mkfs.ext4"],
        );
        check(
            "dd-disk",
            &[
                "dd if=/dev/zero of=/dev/sda bs=1M",
                "sudo dd if=img of=/dev/nvme0n1",
            ],
            &[
                "dd if=/dev/zero of=/tmp/file bs=1M",
                "dd if=/dev/sda of=/tmp/disk.img",
            ],
        );
        check(
            "raw-disk-write",
            &[
                "echo x > /dev/sda",
                "cat img >/dev/vdb1",
                "cat img | tee /dev/sdb",
                "shred -n1 /dev/sdc",
                "wipefs -a /dev/nvme0n1",
            ],
            &[
                "echo x > /dev/null",
                "cat /dev/sda > /tmp/x",
                "echo >/dev/stderr",
            ],
        );
        check(
            "shutdown",
            &[
                "shutdown -h now",
                "reboot",
                "sudo reboot",
                "sleep 5; /sbin/reboot",
                "systemctl reboot",
                "systemctl --force poweroff",
                "halt -p",
                "init 6",
            ],
            &[
                "echo reboot",
                "grep -c reboot /var/log/syslog",
                "systemctl restart nginx",
                "last reboot",
                "./reboot-check.sh",
            ],
        );
        check(
            "iptables-flush",
            &[
                "iptables -F",
                "iptables -t nat -F",
                "ip6tables --flush",
                "nft flush ruleset",
            ],
            &["iptables -L -n", "iptables -A INPUT -j ACCEPT"],
        );
        check(
            "userdel",
            &["userdel -r olduser", "sudo deluser bob"],
            &["echo userdel"],
        );
        check(
            "crontab-remove",
            &["crontab -r", "crontab -u app -r", "crontab -ir"],
            &["crontab -l", "crontab -e", "crontab /tmp/cron"],
        );
        check(
            "pipe-to-shell",
            &[
                "curl -fsSL https://get.example | sh",
                "wget -qO- http://x | sudo bash",
            ],
            &["curl -o /tmp/x https://get.example", "curl x | grep sh"],
        );
    }
}

//! The `ratios` table: criterion's medians, and kadenz's ratio to each other member.

use crate::Flags;

/// The median point estimate in a criterion `estimates.json`, in nanoseconds.
fn median_estimate(json: &str) -> Option<f64> {
    let after_median = &json[json.find("\"median\"")?..];
    let after_key = &after_median[after_median.find("\"point_estimate\"")? + 16..];
    let number = after_key.trim_start_matches([':', ' ']);
    let end = number
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
        .unwrap_or(number.len());
    number[..end].parse().ok()
}

pub(crate) fn ratios(flags: &Flags) {
    let dir = flags.criterion_dir.clone().map_or_else(
        || {
            std::env::var_os("CARGO_TARGET_DIR")
                .map_or_else(|| "target".into(), std::path::PathBuf::from)
                .join("criterion")
        },
        std::path::PathBuf::from,
    );
    let Ok(groups) = std::fs::read_dir(&dir) else {
        eprintln!(
            "no criterion results in {}: run `cargo bench -p kadenz-tools` first",
            dir.display()
        );
        std::process::exit(1);
    };
    let mut groups: Vec<_> = groups.filter_map(Result::ok).map(|e| e.path()).collect();
    groups.sort();
    println!("## Criterion medians ({})", dir.display());
    println!();
    println!("| group | member | median ns/op | ratio kadenz/member |");
    println!("|---|---|---:|---:|");
    for group in groups {
        let Ok(members) = std::fs::read_dir(&group) else {
            continue;
        };
        let mut medians: Vec<(String, f64)> = members
            .filter_map(Result::ok)
            .filter_map(|member| {
                let json =
                    std::fs::read_to_string(member.path().join("new/estimates.json")).ok()?;
                Some((
                    member.file_name().to_string_lossy().into_owned(),
                    median_estimate(&json)?,
                ))
            })
            .collect();
        // kadenz first, then the others by name.
        medians.sort_by(|a, b| (a.0 != "kadenz", &a.0).cmp(&(b.0 != "kadenz", &b.0)));
        let kadenz = medians
            .iter()
            .find(|(name, _)| name == "kadenz")
            .map(|m| m.1);
        let group_name = group
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for (member, ns) in &medians {
            let ratio = match kadenz {
                Some(k) if member != "kadenz" => format!("{:.3}", k / ns),
                _ => String::new(),
            };
            println!("| {group_name} | {member} | {ns:.1} | {ratio} |");
        }
    }
}

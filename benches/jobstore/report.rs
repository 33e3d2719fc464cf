//! The results table, the targets met or missed, and `BENCHMARKS.md`.

use std::fmt::Write;

use crate::stats::Samples;

/// What was measured of whom: jobstore's backends and the baselines.
pub const SUBJECTS: [&str; 5] = [
    "jobstore (SQLite)",
    "jobstore (libSQL)",
    "raw SQLite",
    "effectum (WAL)",
    "effectum (as shipped)",
];

/// One line of the table: a quantity, measured for some subjects.
#[derive(Debug)]
pub struct Row {
    /// What was measured.
    pub measurement: String,
    /// Its unit.
    pub unit: &'static str,
    /// The repeated measurements, by subject.
    pub cells: Vec<(&'static str, Samples)>,
}

/// Every measurement of a run, in the order taken.
#[derive(Debug, Default)]
pub struct Report {
    /// The table's lines.
    pub rows: Vec<Row>,
    /// The measurements over a libSQL server.
    pub server: Vec<ServerRow>,
}

/// One measurement over a libSQL server.
#[derive(Debug)]
pub struct ServerRow {
    /// What was measured.
    pub measurement: String,
    /// Its unit.
    pub unit: &'static str,
    /// The repeated measurements.
    pub samples: Samples,
    /// HTTP requests per job, when counted.
    pub requests_per_job: Option<f64>,
    /// TCP connections opened, when counted.
    pub connections: Option<u64>,
}

impl Report {
    /// Records `samples` of `measurement` for `subject` (and prints them).
    pub fn add(
        &mut self,
        measurement: &str,
        unit: &'static str,
        subject: &'static str,
        samples: Samples,
    ) {
        println!("{measurement:<48} {subject:<22} {} {unit}", cell(&samples));
        match self.rows.iter_mut().find(|r| r.measurement == measurement) {
            Some(row) => row.cells.push((subject, samples)),
            None => self.rows.push(Row {
                measurement: measurement.to_string(),
                unit,
                cells: vec![(subject, samples)],
            }),
        }
    }

    /// Records a measurement over a server (and prints it).
    pub fn add_server(&mut self, row: ServerRow) {
        let mut line = format!(
            "{:<48} {:<22} {} {}",
            row.measurement,
            "jobstore (libSQL server)",
            cell(&row.samples),
            row.unit
        );
        if let Some(requests) = row.requests_per_job {
            line.push_str(&format!(", {requests:.2} requests/job"));
        }
        if let Some(connections) = row.connections {
            line.push_str(&format!(", {connections} connections"));
        }
        println!("{line}");
        self.server.push(row);
    }

    /// The median of a measurement over the server, when measured.
    pub fn server_median(&self, measurement: &str) -> Option<f64> {
        self.server
            .iter()
            .find(|r| r.measurement == measurement)
            .map(|r| r.samples.median())
    }

    /// The server measurements in Markdown.
    pub fn server_table(&self) -> String {
        let mut out = String::from(
            "| Measurement | Unit | jobstore (libSQL server) | Requests per job | TCP connections opened |\n|---|---|---:|---:|---:|\n",
        );
        for row in &self.server {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                row.measurement,
                row.unit,
                cell(&row.samples),
                row.requests_per_job
                    .map_or_else(String::new, |r| format!("{r:.2}")),
                row.connections.map_or_else(String::new, |c| c.to_string()),
            );
        }
        out
    }

    /// The median of `measurement` for `subject`, when measured.
    pub fn median(&self, measurement: &str, subject: &str) -> Option<f64> {
        self.rows
            .iter()
            .find(|r| r.measurement == measurement)?
            .cells
            .iter()
            .find(|(s, _)| *s == subject)
            .map(|(_, samples)| samples.median())
    }

    /// The table in Markdown: a column per subject measured.
    pub fn markdown_table(&self) -> String {
        let subjects: Vec<&str> = SUBJECTS
            .into_iter()
            .filter(|s| {
                self.rows
                    .iter()
                    .any(|r| r.cells.iter().any(|(c, _)| c == s))
            })
            .collect();
        let mut out = format!("| Measurement | Unit | {} |\n", subjects.join(" | "));
        out.push_str(&format!("|---|---|{}\n", "---:|".repeat(subjects.len())));
        for row in &self.rows {
            let cells: Vec<String> = subjects
                .iter()
                .map(|s| {
                    row.cells
                        .iter()
                        .find(|(c, _)| c == s)
                        .map_or_else(|| "".to_string(), |(_, samples)| cell(samples))
                })
                .collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                row.measurement,
                row.unit,
                cells.join(" | ")
            );
        }
        out
    }
}

/// "median (min–max)", or the value alone for a single sample.
fn cell(samples: &Samples) -> String {
    if samples.0.len() == 1 {
        return number(samples.median());
    }
    format!(
        "{} ({}–{})",
        number(samples.median()),
        number(samples.min()),
        number(samples.max())
    )
}

/// A number as people read it: thousands grouped, decimals only when small.
pub fn number(value: f64) -> String {
    if !value.is_finite() {
        return "n/a".into();
    }
    if value.abs() >= 100.0 {
        let digits = format!("{:.0}", value.abs());
        let grouped: Vec<String> = digits
            .as_bytes()
            .rchunks(3)
            .rev()
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        format!(
            "{}{}",
            if value < 0.0 { "-" } else { "" },
            grouped.join(",")
        )
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// A target: a measured ratio and the least it should be.
#[derive(Debug)]
pub struct Target {
    /// What is compared with what.
    pub name: String,
    /// The measured ratio (NaN when a side was not measured).
    pub ratio: f64,
    /// The ratio required.
    pub required: f64,
}

impl Target {
    /// Whether the target was met.
    pub fn met(&self) -> bool {
        self.ratio >= self.required
    }

    /// A Markdown table of `targets`.
    pub fn markdown_table(targets: &[Target]) -> String {
        let mut out = String::from("| Target | Required | Measured | |\n|---|---:|---:|---|\n");
        for t in targets {
            let _ = writeln!(
                out,
                "| {} | ≥ {:.2} | {:.2} | {} |",
                t.name,
                t.required,
                t.ratio,
                if t.met() { "met" } else { "**missed**" }
            );
        }
        out
    }
}

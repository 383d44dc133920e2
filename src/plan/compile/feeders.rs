//! Data feeders: the CSV files a plan's `data` section names, read and stored compactly at
//! compile time, and the check that `unique` rows suffice (it needs the row count, so it runs
//! here rather than in validation, which reads no files).

use std::sync::Arc;

use super::types::{Feeder, LoadModel, LoadShape};
use crate::plan::Reporter;
use crate::plan::model;
use crate::plan::table::Table;
use crate::plan::yaml::escape_segment;

/// Reads a feeder's CSV file (first line: column names).
pub(super) fn read_feeder(
    name: &str,
    f: &model::DataFeeder,
    dir: &std::path::Path,
    r: &mut Reporter,
) -> Option<Feeder> {
    let at = format!("/data/{}/file", escape_segment(name));
    let path = dir.join(&f.file);
    // A missing file is already reported by the checks of meaning.
    // Streamed: the table is the only copy of the file in memory.
    let file = open_regular_file(&path).ok()?;
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(std::io::BufReader::new(file));
    let columns: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(str::to_owned).collect(),
        Err(e) => {
            r.value(
                &at,
                &format!("`{}` is not a readable CSV file: {e}", f.file.display()),
                "the first line names the columns, separated by commas",
            );
            return None;
        }
    };
    let mut table = Table::new(columns);
    // One record buffer for every row: the table copies its cells, so nothing is kept per row.
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                if table.push_row(record.iter()).is_err() {
                    r.value(
                        &at,
                        &format!("`{}` holds over 4 GiB of cells", f.file.display()),
                        "split the file",
                    );
                    return None;
                }
            }
            Err(e) => {
                r.value(
                    &at,
                    &format!("`{}`: {e}", f.file.display()),
                    "every row needs as many fields as the header line",
                );
                return None;
            }
        }
    }
    if table.is_empty() {
        r.value(
            &at,
            &format!("`{}` has no rows below its header line", f.file.display()),
            "add at least one row",
        );
        return None;
    }
    Some(Feeder {
        name: name.to_owned(),
        order: f.order,
        table: Arc::new(table),
    })
}

/// A `unique` feeder needs a row for every user.
pub(super) fn check_unique_feeders(feeders: &[Feeder], load: &LoadShape, r: &mut Reporter) {
    if matches!(load.model, LoadModel::Open { .. }) {
        // Open-model sessions come and go with the schedule: there is no fixed user to
        // hold a row for the whole run.
        for f in feeders
            .iter()
            .filter(|f| f.order == model::FeederOrder::Unique)
        {
            r.value(
                &format!("/data/{}/order", escape_segment(&f.name)),
                &format!(
                    "`{}` is `unique`, which needs a closed model (`users` or `stages`)",
                    f.name
                ),
                "use `sequential` or `random` with `arrival_rate`",
            );
        }
        return;
    }
    let users = load.max_users();
    for f in feeders
        .iter()
        .filter(|f| f.order == model::FeederOrder::Unique)
    {
        if (f.table.len() as u64) < users {
            r.value(
                &format!("/data/{}/order", escape_segment(&f.name)),
                &format!(
                    "`{}` is `unique` with {} rows, but the load has up to {users} users",
                    f.name,
                    f.table.len()
                ),
                "add rows, lower the users, or use `sequential`/`random`",
            );
        }
    }
}

/// Reads a file to upload. Only regular files: `validate` reads them too, and a device
/// (`/dev/zero`) or a FIFO would never end or would fill memory.
pub(super) fn read_regular_file(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut open_regular_file(path)?, &mut bytes)?;
    Ok(bytes)
}

/// Opens a file that `validate` may read to its end: only a regular file.
pub(super) fn open_regular_file(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    if !std::fs::metadata(path)?.is_file() {
        return Err(std::io::Error::other(
            "not a regular file (folders, devices and pipes cannot be uploaded)",
        ));
    }
    std::fs::File::open(path)
}

//! A data feeder's rows, held compactly: every cell's text in one buffer and where each
//! cell ends, so a CSV file costs about its own size plus 4 bytes a cell (a map per row with
//! its own column names cost 26 times the file). Templates read a row through [`Row`],
//! which copies nothing until a cell is read.

use std::sync::Arc;

use minijinja::Value;
use minijinja::value::{Enumerator, Object};

/// The rows of one CSV file.
#[derive(Debug, Default)]
pub(crate) struct Table {
    columns: Vec<String>,
    text: String,
    /// End of each cell in `text`, row after row.
    ends: Vec<u32>,
}

/// The cells of a table would not fit its 32-bit offsets (over 4 GiB of text).
#[derive(Debug)]
pub(crate) struct TooLarge;

impl Table {
    /// An empty table with these columns.
    pub(crate) fn new(columns: Vec<String>) -> Self {
        Table {
            columns,
            ..Table::default()
        }
    }

    /// Appends a row; it has as many cells as the table has columns (the CSV reader makes
    /// sure of it).
    pub(crate) fn push_row<'a>(
        &mut self,
        cells: impl Iterator<Item = &'a str>,
    ) -> Result<(), TooLarge> {
        for cell in cells {
            self.text.push_str(cell);
            self.ends
                .push(u32::try_from(self.text.len()).map_err(|_| TooLarge)?);
        }
        Ok(())
    }

    /// Column names.
    pub(crate) fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Number of rows.
    pub(crate) fn len(&self) -> usize {
        self.ends.len().checked_div(self.columns.len()).unwrap_or(0)
    }

    /// Whether there are no rows.
    pub(crate) fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The text of a cell.
    pub(crate) fn cell(&self, row: usize, column: usize) -> &str {
        let i = row * self.columns.len() + column;
        let start = i.checked_sub(1).map_or(0, |p| self.ends[p] as usize);
        &self.text[start..self.ends[i] as usize]
    }
}

/// One row of a table as a template value (`data.NAME.column`).
#[derive(Debug)]
pub(crate) struct Row {
    /// The table.
    pub table: Arc<Table>,
    /// The row's index.
    pub index: usize,
}

impl Object for Row {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let column = self
            .table
            .columns
            .iter()
            .position(|c| Some(c.as_str()) == key.as_str())?;
        Some(Value::from(self.table.cell(self.index, column)))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let columns: Vec<Value> = self.table.columns.iter().map(Value::from).collect();
        Enumerator::Iter(Box::new(columns.into_iter()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_read_back_by_row_and_column() {
        let mut t = Table::new(vec!["user".into(), "pw".into()]);
        t.push_row(["alice", "a1"].into_iter()).unwrap();
        t.push_row(["", "b2"].into_iter()).unwrap();
        assert_eq!((t.len(), t.cell(0, 0), t.cell(0, 1)), (2, "alice", "a1"));
        assert_eq!((t.cell(1, 0), t.cell(1, 1)), ("", "b2"));
        let row = Value::from_object(Row {
            table: Arc::new(t),
            index: 1,
        });
        assert_eq!(row.get_attr("pw").unwrap().as_str(), Some("b2"));
        assert!(row.get_attr("nope").unwrap().is_undefined());
        assert_eq!(row.len(), Some(2));
    }
}

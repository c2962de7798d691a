//! The warehouse export contract of SPEC §2: which tables exist, their
//! canonical columns, which column dates each table, and which columns may
//! be null. Both the pipeline parser and the source reader consult it.

/// The logical type a contract column must be readable as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// UTF-8 text (String, LargeString, StringView, dictionary, categorical).
    Str,
    /// A calendar date (Date or Timestamp of any unit and zone → UTC date).
    Date,
    /// An integer of any width.
    Int,
    /// A number: any float or integer.
    Float,
}

impl Kind {
    /// How the expected type is described in error messages.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Str => "a string (String, LargeString, StringView, dictionary or categorical)",
            Kind::Date => "a date (Date, or Timestamp of any unit, with or without time zone)",
            Kind::Int => "an integer (any width)",
            Kind::Float => "a number (any float or integer)",
        }
    }
}

/// One canonical column of a contract table.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Canonical name.
    pub name: &'static str,
    /// Expected logical type.
    pub kind: Kind,
    /// Whether nulls are accepted (otherwise a null rejects the row).
    pub nullable: bool,
}

const fn c(name: &'static str, kind: Kind, nullable: bool) -> Column {
    Column {
        name,
        kind,
        nullable,
    }
}

/// A table of the warehouse contract.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    /// Canonical table name.
    pub name: &'static str,
    /// Columns in contract order (the order of the row rules too).
    pub columns: &'static [Column],
    /// The column that dates each row (None for accounts).
    pub date_column: Option<&'static str>,
}

/// Every table of SPEC §2 (and §11's `overrides`, read when the pipeline
/// declares it). `churn_labels` is read by backtest only.
pub const TABLES: &[Table] = &[
    Table {
        name: "accounts",
        columns: &[
            c("customer_id", Kind::Str, false),
            c("name", Kind::Str, true),
            c("segment", Kind::Str, true),
            c("signup_date", Kind::Date, true),
            c("seats", Kind::Int, true),
            c("onboarding_completion_pct", Kind::Float, true),
        ],
        date_column: None,
    },
    Table {
        name: "usage",
        columns: &[
            c("customer_id", Kind::Str, false),
            c("date", Kind::Date, false),
            c("feature", Kind::Str, false),
            c("events", Kind::Int, false),
            c("users", Kind::Int, false),
        ],
        date_column: Some("date"),
    },
    Table {
        name: "support_tickets",
        columns: &[
            c("ticket_id", Kind::Str, false),
            c("customer_id", Kind::Str, false),
            c("opened_at", Kind::Date, false),
            c("closed_at", Kind::Date, true),
            c("priority", Kind::Str, false),
        ],
        date_column: Some("opened_at"),
    },
    Table {
        name: "survey_responses",
        columns: &[
            c("customer_id", Kind::Str, false),
            c("responded_at", Kind::Date, false),
            c("kind", Kind::Str, false),
            c("score", Kind::Int, false),
        ],
        date_column: Some("responded_at"),
    },
    Table {
        name: "revenue",
        columns: &[
            c("customer_id", Kind::Str, false),
            c("month", Kind::Date, false),
            c("mrr", Kind::Float, false),
            c("days_past_due", Kind::Int, false),
        ],
        date_column: Some("month"),
    },
    Table {
        name: "overrides",
        columns: &[
            c("customer_id", Kind::Str, false),
            c("band", Kind::Str, false),
            c("reason", Kind::Str, false),
            c("set_by", Kind::Str, false),
            c("set_on", Kind::Date, false),
            c("expires_on", Kind::Date, false),
        ],
        date_column: Some("set_on"),
    },
    Table {
        name: "churn_labels",
        columns: &[
            c("customer_id", Kind::Str, false),
            c("churned_on", Kind::Date, false),
        ],
        date_column: Some("churned_on"),
    },
];

/// The contract table of that name, if it is one.
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

impl Table {
    /// The contract column of that name, if any.
    pub fn column(&self, name: &str) -> Option<&'static Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// The pseudo account column holding D − signup_date.
pub const TENURE_DAYS: &str = "tenure_days";

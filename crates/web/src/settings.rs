//! Agency settings the pages and letters show, kept in the store's settings table so
//! that administrators edit them in the app. None of them is personal data.

use citygate_engine::vocab::Jurisdiction;
use citygate_store::{Store, StoreError};

/// Agency settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The jurisdiction whose packs answer.
    pub jurisdiction: Jurisdiction,
    /// The Law Department's phone number; empty until the administrator sets it.
    pub law_department_phone: String,
    /// The agency's name, for letters.
    pub agency_name: String,
    /// The agency's postal address, for letters (may be several lines).
    pub agency_address: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            jurisdiction: Jurisdiction::Chicago,
            law_department_phone: String::new(),
            agency_name: "City of Chicago".into(),
            agency_address: String::new(),
        }
    }
}

/// Every agency setting's key starts with this (read in one query).
const PREFIX: &str = "agency.";
const JURISDICTION: &str = "agency.jurisdiction";
const PHONE: &str = "agency.law_department_phone";
const NAME: &str = "agency.name";
const ADDRESS: &str = "agency.address";

/// The setting key of an account's interface language.
pub(crate) fn lang_key(account: i64) -> String {
    format!("account/{account}/lang")
}

impl Settings {
    /// The settings as stored, with defaults for what was never set.
    pub async fn load(store: &dyn Store) -> Result<Settings, StoreError> {
        let mut s = Settings::default();
        for (key, value) in store.settings_with_prefix(PREFIX).await? {
            match key.as_str() {
                // A value no longer in the vocabulary falls back to the default rather
                // than locking everyone out of the app.
                JURISDICTION => {
                    if let Some(j) = Jurisdiction::ALL.iter().find(|x| x.as_str() == value) {
                        s.jurisdiction = *j;
                    }
                }
                PHONE => s.law_department_phone = value,
                NAME => s.agency_name = value,
                ADDRESS => s.agency_address = value,
                _ => {}
            }
        }
        Ok(s)
    }

    /// Stores every setting.
    pub async fn save(&self, store: &dyn Store, now: i64) -> Result<(), StoreError> {
        store
            .put_setting(JURISDICTION, self.jurisdiction.as_str(), now)
            .await?;
        store
            .put_setting(PHONE, &self.law_department_phone, now)
            .await?;
        store.put_setting(NAME, &self.agency_name, now).await?;
        store.put_setting(ADDRESS, &self.agency_address, now).await
    }
}

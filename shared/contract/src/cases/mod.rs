//! The contract cases, one `pub async fn` per case, each given empty stores. Grouped by port;
//! [`crate::contract_suite!`] lists every one of them.

mod connections;
mod devices;
mod direct;
mod groups;
mod history;
mod media;
mod memberships;
mod messages;
mod users;
mod watches;

pub use connections::*;
pub use devices::*;
pub use direct::*;
pub use groups::*;
pub use history::*;
pub use media::*;
pub use memberships::*;
pub use messages::*;
pub use users::*;
pub use watches::*;

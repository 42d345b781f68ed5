//! `presence {user_ids}`: one `presence` event per user (as the caller may see it), and this
//! connection now watches exactly those users: each later change of their `online` is pushed
//! to it (see [`crate::presence`]). The next `presence` frame replaces the set; an empty one
//! stops watching.

use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use chat_domain::ChatError;
use chat_domain::frames::{PresenceFrame, read_frame};
use chat_ports::{
    Clock, ConnectionPusher, ConnectionStore, MembershipStore, PostOutcome, UserStore, WatchStore,
};
use tracing::Instrument;

use crate::presence::Presence;
use crate::{Caller, ChatSettings, MAX_CONNECTION_AGE_MS, reply};

pub struct PresenceHandler {
    pub users: Arc<dyn UserStore>,
    pub connections: Arc<dyn ConnectionStore>,
    pub memberships: Arc<dyn MembershipStore>,
    pub watches: Arc<dyn WatchStore>,
    pub pusher: Arc<dyn ConnectionPusher>,
    pub clock: Arc<dyn Clock>,
    pub settings: ChatSettings,
}

impl PresenceHandler {
    pub async fn handle(&self, event: ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse {
        let caller = match Caller::from_event(&event) {
            Ok(caller) => caller,
            Err(err) => return reply::error(&err, Some("presence"), None),
        };
        let span = tracing::info_span!("presence", request_id = %caller.request_id,
            connection_id = %caller.connection_id, user_id = %caller.user_id);
        async move {
            let parsed =
                read_frame::<PresenceFrame>(event.body.as_deref()).and_then(PresenceFrame::parse);
            let result = match parsed {
                Ok(users) => self.answer(&caller, users).await,
                Err(err) => Err(err),
            };
            match result {
                Ok(()) => reply::empty(),
                Err(err) => reply::error(&err, Some("presence"), None),
            }
        }
        .instrument(span)
        .await
    }

    async fn answer(
        &self,
        caller: &Caller,
        targets: Vec<chat_domain::UserId>,
    ) -> Result<(), ChatError> {
        let now = self.clock.now();
        let presence = Presence {
            users: &*self.users,
            connections: &*self.connections,
            memberships: &*self.memberships,
            settings: &self.settings,
        };
        let mut asked = targets.clone();
        if !asked.contains(&caller.user_id) {
            asked.push(caller.user_id.clone());
        }
        let profiles = presence.profiles(&asked).await?;
        let viewer = profiles
            .get(&caller.user_id)
            .cloned()
            .unwrap_or_else(|| chat_ports::UserProfile::new(caller.user_id.clone()));
        let wanted: Vec<&chat_ports::UserProfile> =
            targets.iter().filter_map(|t| profiles.get(t)).collect();
        let visible = presence.visible_to(&viewer, &wanted).await?;
        let shown: Vec<chat_domain::UserId> = targets
            .iter()
            .filter(|t| visible.contains(*t))
            .cloned()
            .collect();
        let live = presence.live(&shown, now).await?;
        // Watch first: a change right after the answer is then not missed.
        self.watches
            .watch(
                &caller.connection_id,
                &caller.user_id,
                &shown,
                now,
                now.plus_ms(MAX_CONNECTION_AGE_MS),
            )
            .await?;
        for profile in wanted {
            let connections = live.get(&profile.user_id).map_or(0, Vec::len);
            let event = presence.event(
                profile,
                connections,
                visible.contains(&profile.user_id),
                now,
            );
            match self
                .pusher
                .post(&caller.connection_id, event.to_json().as_bytes())
                .await?
            {
                PostOutcome::Delivered => {}
                // The caller left meanwhile: nothing more to answer or watch.
                PostOutcome::Gone => return self.watches.unwatch(&caller.connection_id).await,
            }
        }
        Ok(())
    }
}

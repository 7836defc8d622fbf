-- An agent's reply carries the console's id for it (payload.clientMsgId): a send retried after its answer was
-- lost (a node that died, a timeout) finds the reply it already wrote instead of sending the customer a second one.
create index messages_client_msg_id on messages (conversation_id, (payload->>'clientMsgId')) where payload ? 'clientMsgId';

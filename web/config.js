// Where the page finds the backend. Empty means "the server that served this page"
// (chat-local: HTTP API at /v1, WebSocket at /local). For AWS, fill in your stack's outputs:
//   api: 'https://{http-api-id}.execute-api.{region}.amazonaws.com/v1'
//   ws:  'wss://{ws-api-id}.execute-api.{region}.amazonaws.com/{stage}'
// Query parameters ?api=…&ws=… and the sign-in form's "Endpoints" override these.
export default {
  api: '',
  ws: '',
};

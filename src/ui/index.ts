export { ClusterPage, type ClusterPageOptions, type PageState, UI_TICK_MS } from './page.js';
export { startUiHttpServer, type UiHttpServer, HttpListenError } from './http-server.js';
export { HTTP_ADDR_TAG } from './view.js';

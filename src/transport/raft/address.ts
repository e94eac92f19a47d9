// The transport dials peers by the one host:port parser of src/common.
export { formatHostPort, parseHostPort, type HostPort } from '../../common/host-port.js';

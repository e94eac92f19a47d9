/** A gRPC method as the forwarding code needs it: its path and its message coders. */
export interface UnaryMethod<Req, Res> {
  readonly path: string;
  readonly requestSerialize: (req: Req) => Buffer;
  readonly responseDeserialize: (buf: Buffer) => Res;
}

export type StreamMethod<Req, Res> = UnaryMethod<Req, Res>;

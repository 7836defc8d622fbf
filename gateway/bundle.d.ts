/** gateway/bundle.js: compiles a .ts entry and its imports (packages stay outside) into one ESM file; its URL. */
export function bundleServer(entry: URL): Promise<string>;

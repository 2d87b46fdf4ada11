/** Types for build-freshness.mjs (the build scripts are plain JavaScript). */
export declare const ROOT: string
export declare const DIST: string
export declare const STAMP: string
export declare const SKIP: Set<string>
export declare function distIsCurrent(): Promise<boolean>

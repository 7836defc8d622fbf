import type { Deps } from '../../core/deps.ts';
import type { TokenService } from '../../core/agents/tokens.ts';
import type { Metrics } from '../metrics.ts';
import type { Config } from '../../core/config.ts';
import type { Bot } from '../../bot/engine.ts';
import type { KbSync } from '../../bot/kb-sync.ts';

/** What route handlers may use. Handlers validate, authorize, call core and present; nothing else. */
export interface HttpContext {
  deps: Deps;
  tokens: TokenService;
  metrics: Metrics;
  config: Config;
  bot: Bot;
  /** KB changes: rebuild here and on every other node */
  kb: KbSync;
}

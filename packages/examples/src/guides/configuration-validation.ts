import { Config } from 'quichex';

/** Options from a file are not type-checked; Config checks them all before anything reaches quiche. */
export async function configFromJson(json: string): Promise<Config | string> {
  try {
    return new Config(JSON.parse(json));
  } catch (err) {
    // TypeError (wrong type, unknown option) or RangeError (out of bounds), naming the option.
    if (err instanceof TypeError || err instanceof RangeError) return `${err.name}: ${err.message}`;
    throw err;
  }
}

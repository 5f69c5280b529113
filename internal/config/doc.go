// Package config is carepost's one typed configuration.
//
// # Layers
//
// A Config is built in layers, each overriding the one before:
//
//  1. Defaults, stated on every field of the section structs below.
//  2. An optional TOML file with one table per section. A key the file does
//     not know is an error naming the key and its line, so a typo cannot
//     silently leave a default in force.
//  3. Environment variables CAREPOST_<SECTION>_<KEY>, upper case: http.listen
//     is CAREPOST_HTTP_LISTEN, keys.kek_file is CAREPOST_KEYS_KEK_FILE. Lists
//     are comma-separated. An empty variable counts as unset. A CAREPOST_
//     variable that starts with a section name but matches no key is reported
//     by Config.Warnings, not refused: other CAREPOST_ variables exist, such
//     as CAREPOST_TEST_POSTGRES_URL or the one keys.kek_env names.
//  4. Flags, which the command line applies with Config.Set and a dotted key.
//
// Load applies layers 1 to 3. The caller then applies flags with Set, calls
// Resolve to fill the paths derived from data.dir, and Validate, which reports
// every problem at once in one error (see the Load example).
//
// # Keys
//
// A key is the section's TOML table name, a dot and the field's TOML name:
// "http.listen". Set, the environment, Keys and TOML all work from the struct
// tags by reflection, so adding a field is only declaring it:
//
//	// Foo is what foo does, in a sentence or two. Default: "bar".
//	Foo string `toml:"foo" doc:"what foo does"`
//
// The doc tag is the one-line help Keys returns for `carepost config` and the
// documentation; the field's comment must contain it word for word and state
// the default as "Default: <TOML value>.". A test checks both, so the comment,
// the help text and Defaults cannot drift apart. Field types may be string,
// bool, int, Duration, Size, netip.Prefix, any encoding.TextUnmarshaler, and
// slices of those. A new section is a field on Config with a toml tag; its
// checks go in Validate.
//
// # Secrets
//
// Secrets are never inline values (STYLE rule 4): a field names a file
// (keys.kek_file, database.url_file) or an environment variable (keys.kek_env)
// that holds the secret, and the package that needs it reads it. A field
// tagged secret:"true" is blanked by Redacted and never echoed in errors, and
// Redacted hides a password in any URL, so Redacted().TOML() is safe to print.
package config

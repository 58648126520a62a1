using System.Globalization;
using Akka.Configuration.Hocon;
using ActorLab.Model.Common;
using AkkaConfig = Akka.Configuration.Config;

namespace ActorLab.Actors.Config;

/// <summary>
/// A `--config` file is read as strictly as a sweep file: it may hold `actorlab { }` and `akka { }` only; every
/// `actorlab` key must exist in hocon/actorlab.conf (objects stay objects, values stay values), and every value the
/// runtime reads must have the right type and a possible value (<see cref="CheckValues"/>). A typo such as
/// `actorlab.node.cpu-slot = 4` is an error naming the key, never a silently ignored setting. `akka { }` is Akka's
/// own reference configuration and is passed through.
/// </summary>
public static class ConfigCheck
{
    /// <summary>Sections whose keys are Akka dispatcher settings, not ours.</summary>
    static readonly string[] OpenSections = ["actorlab.trainer-dispatcher", "actorlab.blocking-dispatcher"];

    public static void CheckUserFile(AkkaConfig user, string source)
    {
        var root = user.Root;
        if (root.IsEmpty || !root.IsObject()) return;
        foreach (var (key, value) in root.GetObject().Items)
        {
            if (key == "akka") continue;
            if (key != "actorlab")
                throw new UserInputException($"{source}: {key}: unknown key (a config file holds `actorlab {{ }}` and `akka {{ }}`).");
            if (!value.IsObject()) throw new UserInputException($"{source}: actorlab: expected an object {{ ... }}.");
            CheckKeys(value.GetObject(), ActorLabConfig.Defaults.GetConfig("actorlab").Root.GetObject(), "actorlab", source);
        }
        // the file's own values, even those a flag overrides later: a bad setting in a file is an error either way
        CheckValues(user.WithFallback(ActorLabConfig.Defaults), source);
    }

    static void CheckKeys(HoconObject user, HoconObject defaults, string path, string source)
    {
        foreach (var (key, value) in user.Items)
        {
            var keyPath = $"{path}.{key}";
            if (keyPath == "actorlab.sweep-defaults")
                throw new UserInputException($"{source}: {keyPath}: sweep settings go in the sweep file's `sweep {{ }}` block, not in --config.");
            if (!defaults.Items.TryGetValue(key, out var def))
                throw new UserInputException($"{source}: {keyPath}: unknown key (known here: {string.Join(", ", defaults.Items.Keys)}).");
            if (value.Values.Count == 0) throw new UserInputException($"{source}: {keyPath}: missing value.");
            if (def.IsObject())
            {
                if (!value.IsObject()) throw new UserInputException($"{source}: {keyPath}: expected an object {{ ... }}.");
                if (!OpenSections.Contains(keyPath)) CheckKeys(value.GetObject(), def.GetObject(), keyPath, source);
            }
            else if (value.IsObject()) throw new UserInputException($"{source}: {keyPath}: expected a value, not an object.");
        }
    }

    /// <summary>Every setting the runtime reads, with its type and range, checked on the merged configuration.</summary>
    public static void CheckValues(AkkaConfig config, string source)
    {
        var v = new Values(config, source);
        v.NonEmpty("actorlab.data-dir");
        v.Int("actorlab.node.cpu-slots", 1, 1024);
        v.OneOf("actorlab.node.use-cuda", "auto", "on", "off");
        v.Int("actorlab.node.torch-threads-per-slot", 1, 1024);
        v.Duration("actorlab.node.heartbeat-interval");
        v.NonEmpty("actorlab.node.hostname");
        v.Int("actorlab.node.port", 0, 65535);
        v.Int("actorlab.coordinator.snapshot-every", 1, int.MaxValue);
        v.Duration("actorlab.coordinator.lease-timeout");
        v.Int("actorlab.coordinator.max-run-attempts", 1, 1000);
        var min = v.Duration("actorlab.coordinator.retry-backoff-min");
        var max = v.Duration("actorlab.coordinator.retry-backoff-max");
        if (max < min) throw v.Error("actorlab.coordinator.retry-backoff-max", $"{max} is below retry-backoff-min {min}");
        v.Int("actorlab.data.workers", 1, 64);
        v.Int("actorlab.data.read-ahead", 1, 1024);
        v.Duration("actorlab.console.ask-timeout");
    }

    sealed class Values(AkkaConfig config, string source)
    {
        public UserInputException Error(string path, string what) => new($"{source}: {path}: {what}.");

        string Scalar(string path)
        {
            var value = config.GetValue(path);
            if (value == null || value.Values.Count == 0) throw Error(path, "missing");
            if (value.IsObject() || value.IsArray()) throw Error(path, "expected a single value");
            return value.GetString() ?? throw Error(path, "expected a value, got null");
        }

        public void NonEmpty(string path)
        {
            if (string.IsNullOrWhiteSpace(Scalar(path))) throw Error(path, "must not be empty");
        }

        public void OneOf(string path, params string[] allowed)
        {
            var s = Scalar(path);
            if (!allowed.Contains(s)) throw Error(path, $"'{s}' is not one of {string.Join(", ", allowed)}");
        }

        public long Int(string path, long min, long max)
        {
            var s = Scalar(path);
            if (!long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n))
                throw Error(path, $"expected a whole number, got '{s}'");
            if (n < min || n > max) throw Error(path, $"{n} is not in {min}..{max}");
            return n;
        }

        /// <summary>A positive duration such as 2s or 500ms.</summary>
        public TimeSpan Duration(string path)
        {
            var s = Scalar(path);
            TimeSpan t;
            try { t = config.GetTimeSpan(path, allowInfinite: false); }
            catch (Exception e) when (e is FormatException or OverflowException or ArgumentException or InvalidOperationException or NullReferenceException)
            {
                throw Error(path, $"expected a duration such as 2s or 500ms, got '{s}'");
            }
            if (t <= TimeSpan.Zero) throw Error(path, $"{s} must be longer than zero");
            return t;
        }
    }
}

using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using System.Runtime.Serialization;
using Akka.Serialization;

namespace ActorLab.Actors.Serialization;

/// <summary>
/// Versioned JSON for everything that crosses the wire or enters the journal: the payload is System.Text.Json
/// of the record, the manifest is the stable name and version from <see cref="MessageRegistry"/>
/// (e.g. "run-leased@1"), never a CLR type name. An unknown manifest or a payload that does not parse throws
/// <see cref="SerializationException"/>: remoting logs and drops such a message; recovery refuses it.
/// </summary>
public sealed class ActorLabSerializer : SerializerWithStringManifest
{
    readonly JsonSerializerOptions _json;

    public ActorLabSerializer(ExtendedActorSystem system) : base(system)
    {
        _json = CreateOptions(system);
    }

    public override int Identifier => 7301;

    public static JsonSerializerOptions CreateOptions(ExtendedActorSystem? system)
    {
        var o = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            DefaultIgnoreCondition = JsonIgnoreCondition.Never,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        };
        o.Converters.Add(new JsonStringEnumConverter());
        if (system != null) o.Converters.Add(new ActorRefConverter(system));
        return o;
    }

    public override string Manifest(object o) => MessageRegistry.ManifestOf(o.GetType());

    public override byte[] ToBinary(object obj) => JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), _json);

    public override object FromBinary(byte[] bytes, string manifest)
    {
        var type = MessageRegistry.TypeOf(manifest)
                   ?? throw new SerializationException($"unknown ActorLab message manifest '{manifest}' (a newer or older peer?)");
        try
        {
            return JsonSerializer.Deserialize(bytes, type, _json)
                   ?? throw new SerializationException($"empty payload for '{manifest}'");
        }
        catch (JsonException e)
        {
            throw new SerializationException($"cannot read '{manifest}': {e.Message}", e);
        }
    }

    /// <summary>Actor references travel as their full path and resolve on the receiving side.</summary>
    sealed class ActorRefConverter(ExtendedActorSystem system) : JsonConverter<IActorRef>
    {
        public override IActorRef Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var path = reader.GetString();
            return string.IsNullOrEmpty(path) ? ActorRefs.Nobody : system.Provider.ResolveActorRef(path);
        }

        public override void Write(Utf8JsonWriter writer, IActorRef value, JsonSerializerOptions options) =>
            writer.WriteStringValue(Akka.Serialization.Serialization.SerializedActorPath(value));
    }
}

using System.Text.Json.Serialization;
using MegaFlow.Model.Tokenization;

namespace MegaFlow.Model.Policy;

/// <summary>
/// The architecture of a policy: an embedding, a stack of GRU layers and a linear head over the
/// byte-level vocabulary. Written into every weight version's manifest, so weights always load into
/// the shape they were saved from. The defaults are deliberately tiny (CPU tests and benchmarks).
/// </summary>
public sealed record PolicyConfig
{
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; } = ByteTokenizer.VocabularySize;

    [JsonPropertyName("embedding_size")] public int EmbeddingSize { get; init; } = 32;

    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; } = 128;

    [JsonPropertyName("layers")] public int Layers { get; init; } = 1;

    /// <summary>
    /// Longest prompt + completion the service accepts. A GRU has no positional limit; this bounds the
    /// work one request can ask for.
    /// </summary>
    [JsonPropertyName("context_length")] public int ContextLength { get; init; } = 2048;

    [JsonPropertyName("chat_template")] public string ChatTemplateName { get; init; } = ChatTemplate.Name;

    /// <summary>Throws naming the first invalid field.</summary>
    public PolicyConfig Validated()
    {
        if (VocabSize != ByteTokenizer.VocabularySize)
            throw new ArgumentException($"vocab_size: {VocabSize} does not match the byte-level tokenizer ({ByteTokenizer.VocabularySize})");
        Positive("embedding_size", EmbeddingSize, 4096);
        Positive("hidden_size", HiddenSize, 8192);
        Positive("layers", Layers, 64);
        Positive("context_length", ContextLength, 1 << 20);
        if (ChatTemplateName != ChatTemplate.Name)
            throw new ArgumentException($"chat_template: '{ChatTemplateName}' is not a template this build knows (it knows {ChatTemplate.Name})");
        return this;
    }

    private static void Positive(string name, int value, int max)
    {
        if (value < 1 || value > max) throw new ArgumentException($"{name}: {value} is outside 1..{max}");
    }
}

namespace GroupRobust.Text.Encoders;

/// <summary>The BERT-family architectures <see cref="BertEncoder"/> builds; they differ in names and token types, not in the layer's arithmetic.</summary>
public enum BertArchitecture
{
    /// <summary>BERT (Devlin et al., 2019) and the models that share its layout: MiniLM, BERT-small/mini/tiny. Hugging Face keys <c>embeddings.*</c>, <c>encoder.layer.N.*</c>, <c>pooler.dense.*</c>.</summary>
    Bert,

    /// <summary>DistilBERT (Sanh et al., 2019): no token types, no pooler. Hugging Face keys <c>embeddings.*</c>, <c>transformer.layer.N.*</c>.</summary>
    DistilBert,
}

//! Topic creation at start (`kafka::ensure_topics`) against the real test
//! broker: what is missing is created with the configured partitions, what
//! exists is left as it is, and a second call changes nothing.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use timbre::config::KafkaSettings;
use timbre::kafka;

use crate::kafka_server::{shared_brokers, unique_settings};

/// The partition count of each of the settings' four topics (0: absent).
async fn partitions(settings: &KafkaSettings) -> Vec<(String, usize)> {
    let brokers = settings.brokers.clone().unwrap();
    let names = [
        settings.topic.clone(),
        settings.dead_letter_topic.clone(),
        settings.interactions_topic.clone(),
        settings.interactions_dead_letter_topic.clone(),
    ];
    tokio::task::spawn_blocking(move || {
        let client: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .create()
            .expect("client");
        let metadata = client
            .fetch_metadata(None, Duration::from_secs(30))
            .expect("metadata");
        names
            .iter()
            .map(|name| {
                let count = metadata
                    .topics()
                    .iter()
                    .find(|t| t.name() == name && t.error().is_none())
                    .map_or(0, |t| t.partitions().len());
                (name.clone(), count)
            })
            .collect()
    })
    .await
    .expect("metadata task")
}

#[tokio::test]
async fn missing_topics_are_created_and_existing_ones_left_alone() {
    let Some(brokers) = shared_brokers() else {
        return;
    };
    let settings = unique_settings(&brokers, "topics");
    assert_eq!(settings.partitions, 2);
    // The tracks topic exists already, with one partition: an operator's.
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .create()
        .expect("admin client");
    let created = admin
        .create_topics(
            &[NewTopic::new(
                &settings.topic,
                1,
                TopicReplication::Fixed(1),
            )],
            &AdminOptions::new(),
        )
        .await
        .expect("create request");
    assert!(created[0].is_ok(), "{created:?}");
    let before = partitions(&settings).await;
    assert_eq!(before[0].1, 1, "{before:?}");
    assert!(before[1..].iter().all(|(_, n)| *n == 0), "{before:?}");

    kafka::ensure_topics(&settings)
        .await
        .expect("ensure_topics");
    let after = partitions(&settings).await;
    let expected: Vec<usize> = vec![1, 2, 2, 2];
    assert_eq!(
        after.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
        expected,
        "{after:?}"
    );

    // A second start finds everything and changes nothing.
    kafka::ensure_topics(&settings)
        .await
        .expect("ensure_topics again");
    assert_eq!(partitions(&settings).await, after);
}
